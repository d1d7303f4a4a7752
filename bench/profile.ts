/** Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and ranks functions and files by self time. */
import { readFileSync } from 'node:fs';

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Time not spent idle. */
  busyMs: number;
  functions: SelfTime[];
  files: SelfTime[];
  /** Self time grouped by what the code is: storage, HTTP server, HTTP client, runtime, GC. */
  areas: SelfTime[];
  /** Hookgate's own functions (dist/) by inclusive time: what each operation costs with callees. */
  inclusive: SelfTime[];
}

const AREAS: Array<[string, RegExp]> = [
  ['SQLite: better-sqlite3 and the store (native SQLite time counts here)', /better-sqlite3|\/store\//],
  [
    'HTTP API server: fastify, routing, validation, serialization',
    /node_modules\/(fastify|@fastify|find-my-way|avvio|ajv|fast-json-stringify|secure-json-parse|light-my-request|pino|typebox|fast-uri|fast-querystring|abstract-logging|process-warning|toad-cache|rfdc|json-schema)/,
  ],
  ['HTTP client: undici (delivery attempts)', /node_modules\/undici/],
  ['Hookgate: http/, delivery/, domain/, inbound/', /(^|\/)dist\//],
  ['Node runtime (node:internal: streams, net, http, crypto, events, timers)', /^node:/],
];

function areaOf(where: string, name: string): string {
  for (const [area, re] of AREAS) if (re.test(where)) return area;
  if (name === '(garbage collector)') return 'garbage collector';
  if (where === '(native)') return `native: ${name}`;
  return 'other JavaScript';
}

function shortUrl(url: string, root: string): string {
  if (!url) return '(native)';
  let path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + 1);
  if (path.startsWith(root)) path = path.slice(root.length).replace(/^\//, '');
  // The runner measures a copy of dist/ (see snapshotBuild in run.ts): name it as dist/.
  return path.replace(/^\.tmp\/bench-hookgate-\d+\//, '');
}

export function summariseProfile(file: string, root: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfById = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = (timeDeltas[i + 1] ?? 0) / 1000;
    selfById.set(samples[i]!, (selfById.get(samples[i]!) ?? 0) + dt);
  }
  const fns = new Map<string, SelfTime>();
  const areas = new Map<string, SelfTime>();
  const files = new Map<string, SelfTime>();
  let total = 0;
  let idle = 0;
  for (const [id, ms] of selfById) {
    const frame = byId.get(id)!.callFrame;
    total += ms;
    if (frame.functionName === '(idle)') idle += ms;
    const where = shortUrl(frame.url, root);
    const name = frame.functionName || '(anonymous)';
    const key = `${name}@${where}:${frame.lineNumber + 1}`;
    const f = fns.get(key) ?? {
      name,
      where: frame.url ? `${where}:${frame.lineNumber + 1}` : where,
      selfMs: 0,
      share: 0,
    };
    f.selfMs += ms;
    fns.set(key, f);
    const area = areaOf(where, name);
    const z = areas.get(area) ?? { name: area, where: '', selfMs: 0, share: 0 };
    z.selfMs += ms;
    areas.set(area, z);
    const fileKey = frame.url ? where : name;
    const g = files.get(fileKey) ?? { name: fileKey, where: '', selfMs: 0, share: 0 };
    g.selfMs += ms;
    files.set(fileKey, g);
  }
  const busy = total - idle;
  const rank = (m: Map<string, SelfTime>) =>
    [...m.values()]
      .filter((s) => s.name !== '(idle)')
      .map((s) => ({ ...s, share: s.selfMs / busy }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top);
  // Inclusive time of Hookgate's own functions: each sample counts once for every distinct
  // dist/ function on its stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, SelfTime>();
  for (const [id, ms] of selfById) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const where = shortUrl(frame.url, root);
      if (!where.startsWith('dist/')) continue;
      const key = `${frame.functionName || '(anonymous)'}  ${where}:${frame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const f = inclusive.get(key) ?? { name: key, where: '', selfMs: 0, share: 0 };
      f.selfMs += ms;
      inclusive.set(key, f);
    }
  }
  return {
    totalMs: total,
    busyMs: busy,
    functions: rank(fns),
    files: rank(files),
    areas: rank(areas),
    inclusive: rank(inclusive),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const line = (t: SelfTime) =>
    `${t.selfMs.toFixed(0).padStart(8)} ms ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}${t.where ? `  ${t.where}` : ''}`;
  return [
    `profile: ${s.totalMs.toFixed(0)} ms sampled, ${s.busyMs.toFixed(0)} ms busy (shares are of busy time)`,
    '',
    'top functions by self time:',
    ...s.functions.map(line),
    '',
    'top files by self time:',
    ...s.files.map(line),
    '',
    'self time by area:',
    ...s.areas.map(line),
    '',
    "Hookgate's own functions by inclusive time (with everything they call):",
    ...s.inclusive.map(line),
  ].join('\n');
}
