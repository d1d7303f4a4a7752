import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/hookgate.js';

const MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;

function run(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
}

/** Collects stdout until `pattern` matches; resolves with everything printed so far. */
function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (pattern.test(out)) resolve(out);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (pattern.test(out)) resolve(out);
    });
    child.once('exit', (code) =>
      pattern.test(out) ? resolve(out) : reject(new Error(`exit ${code}: ${out}`)),
    );
  });
}

/** The exit code, whether the process has already exited or not yet. */
function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', resolve));
}

describe('hookgate serve', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('lists every option with its default and environment variable in --help', async () => {
    const out = await waitForOutput(run(['serve', '--help']), /log-level/);
    for (const env of [
      'PORT',
      'HOST',
      'HOOKGATE_DB',
      'HOOKGATE_ADMIN_TOKEN',
      'HOOKGATE_RETRY_SCHEDULE',
      'HOOKGATE_REQUEST_TIMEOUT',
      'HOOKGATE_ALLOW_NETWORKS',
      'HOOKGATE_MAX_PAYLOAD_BYTES',
      'HOOKGATE_SENDER_THREAD',
      'HOOKGATE_METRICS_PORT',
      'HOOKGATE_METRICS_HOST',
    ]) {
      expect(out).toContain(env);
    }
    expect(out).toContain('"127.0.0.1"');
    expect(out).toContain('"./hookgate.db"');
  });

  it('generates an admin token on first start, prints it once, and accepts it after a restart', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = {
      HOOKGATE_DB: join(dir, 'hookgate.db'),
      HOOKGATE_LOG_LEVEL: 'silent',
      HOOKGATE_ADMIN_TOKEN: '',
    };
    const first = run(['serve', '--port', '0'], env);
    children.push(first);
    const out = await waitForOutput(first, /Admin token.*: (hgsk_\S+)/);
    const token = /: (hgsk_\S+)/.exec(out)![1]!;
    const url = /listening on (\S+)/.exec(out)![1]!;
    expect((await fetch(`${url}/api/v1/app`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    first.kill('SIGTERM');
    expect(await exitCode(first)).toBe(0);

    const second = run(['serve', '--port', '0'], env);
    children.push(second);
    const out2 = await waitForOutput(second, /listening on .*\n.*\n/);
    expect(out2).not.toContain(token);
    const url2 = /listening on (\S+)/.exec(out2)![1]!;
    expect(
      (await fetch(`${url2}/api/v1/app`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${url2}/api/v1/app`, { headers: { authorization: 'Bearer hgsk_wrong' } })).status,
    ).toBe(401);
  });

  it('refuses an invalid setting with a clear message and a non-zero exit', async () => {
    const child = run(['serve', '--retry-schedule', '5,,10']);
    const out = await waitForOutput(child, /invalid retry delay/);
    expect(out).toMatch(/hookgate: invalid retry delay/);
    expect(await exitCode(child)).toBe(1);
    const thread = run(['serve', '--sender-thread', 'sometimes']);
    expect(await waitForOutput(thread, /HOOKGATE_SENDER_THREAD/)).toMatch(
      /HOOKGATE_SENDER_THREAD must be auto, on or off, got "sometimes"/,
    );
    expect(await exitCode(thread)).toBe(1);
  });
});
