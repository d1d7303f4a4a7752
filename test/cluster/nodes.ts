import { type ChildProcess, spawn } from 'node:child_process';

const MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;

export interface Node {
  child: ChildProcess;
  url: string | null;
  /** Where it serves metrics, when started with HOOKGATE_METRICS_PORT. */
  metricsUrl: string | null;
  exited: Promise<number | null>;
}

/** Starts `hookgate serve` as its own process and waits until it reports it is up. */
export function startNode(env: NodeJS.ProcessEnv, args: string[] = ['--port', '0']): Promise<Node> {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], {
    env: { ...process.env, HOOKGATE_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      // The start-up lines come in one write: the metrics line is there with the first.
      const metricsUrl = /Metrics on (http:\/\/\S+)/.exec(out)?.[1] ?? null;
      const listening = /listening on (http:\/\/\S+)/.exec(out);
      if (listening) resolve({ child, url: listening[1]!, metricsUrl, exited });
      else if (/worker delivering/.test(out)) resolve({ child, url: null, metricsUrl, exited });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`hookgate exited with ${code}: ${out}`)));
  });
}

export async function stopNode(node: Node, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill(signal);
  await node.exited;
}
