/**
 * A Hookgate deployment under test, started fresh for each repetition: one SQLite node, one
 * all-role node on PostgreSQL, or an api-role node plus worker-role nodes sharing a PostgreSQL
 * database.
 */
import type { PostgresServer } from './postgres.js';
import {
  type AdminClient,
  adminClient,
  type HookgateNode,
  type HookgateProc,
  startHookgate,
  startWorker,
} from './procs.js';

export type Synchronous = 'FULL' | 'NORMAL';

export type Setup =
  | { store: 'sqlite'; synchronous: Synchronous }
  /** `workers` 0: one all-role node; n > 0: an api-role node and n worker-role nodes. */
  | { store: 'postgres'; workers: number };

export function describeSetup(s: Setup): string {
  if (s.store === 'sqlite') return `SQLite ${s.synchronous}`;
  if (s.workers === 0) return 'PostgreSQL, one all-role node';
  return `PostgreSQL, api node + ${s.workers} worker${s.workers === 1 ? '' : 's'}`;
}

export interface Deployment {
  /** The node that takes publishes and admin calls. */
  api: HookgateProc;
  /** The processes that deliver: the same single node, or the worker-role nodes. */
  deliverers: HookgateNode[];
  /** Every Hookgate process of the deployment. */
  nodes: HookgateNode[];
  admin: AdminClient;
  /** Error lines every node logged. */
  errorLines(): string[];
  /** Kills every node and drops the PostgreSQL database (a SQLite file goes with its node). */
  stop(): Promise<void>;
}

export interface DeployOptions {
  /** Path of Hookgate's CLI entry, dist/cli/main.js. */
  main: string;
  requestTimeoutSeconds: number;
  /** The run's PostgreSQL server; required for PostgreSQL setups. */
  postgres: PostgresServer | null;
  /** Profile a SQLite node with `node --cpu-prof` into this directory (it then stops gracefully). */
  cpuProfileDir?: string;
}

export async function deploy(setup: Setup, o: DeployOptions): Promise<Deployment> {
  if (setup.store === 'sqlite') {
    const hg = await startHookgate({
      main: o.main,
      store: { kind: 'sqlite', synchronous: setup.synchronous },
      requestTimeoutSeconds: o.requestTimeoutSeconds,
      cpuProfileDir: o.cpuProfileDir,
    });
    // A CPU profile is written only on a graceful exit.
    return assemble(hg, [hg], async () => {}, o.cpuProfileDir !== undefined);
  }
  if (!o.postgres) throw new Error('a PostgreSQL setup needs the run to start PostgreSQL');
  const db = await o.postgres.createDatabase();
  const started: HookgateNode[] = [];
  try {
    const options = {
      main: o.main,
      store: { kind: 'postgres' as const, databaseUrl: db.url },
      requestTimeoutSeconds: o.requestTimeoutSeconds,
    };
    // The API node first: it applies the migrations, so the workers start on a current schema.
    const api = await startHookgate({ ...options, role: setup.workers === 0 ? 'all' : 'api' });
    started.push(api);
    const workers = await Promise.allSettled(
      Array.from({ length: setup.workers }, () => startWorker(options)),
    );
    for (const w of workers) if (w.status === 'fulfilled') started.push(w.value);
    const failed = workers.find((w) => w.status === 'rejected');
    if (failed) throw failed.reason;
    return assemble(api, setup.workers === 0 ? [api] : started.slice(1), db.drop);
  } catch (e) {
    await Promise.all(started.map((n) => n.stop()));
    await db.drop();
    throw e;
  }
}

function assemble(
  api: HookgateProc,
  deliverers: HookgateNode[],
  dropDatabase: () => Promise<void>,
  graceful = false,
) {
  const nodes = deliverers.includes(api) ? deliverers : [api, ...deliverers];
  const admin = adminClient(api);
  return {
    api,
    deliverers,
    nodes,
    admin,
    errorLines: () => nodes.flatMap((n) => n.errorLines()),
    async stop() {
      await admin.close();
      await Promise.all(nodes.map((n) => n.stop(graceful)));
      await dropDatabase();
    },
  };
}
