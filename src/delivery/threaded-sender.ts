import { Worker } from 'node:worker_threads';
import { formatCidrList } from '../domain/ssrf.js';
import type { Sender, SenderOptions, SendRequest, SendResult } from './sender.js';

/**
 * A Sender whose HTTP client runs on a thread of its own. In a drain about half of the event
 * loop's time per delivery went to undici, sockets and writev (BENCHMARKS.md); on that thread it
 * runs beside the store's work instead of after it. Requests cross in batches: every send of one
 * turn of the event loop (a claim attempts up to 200 deliveries at once) is one message.
 *
 * The thread runs the same `makeSender`, SSRF guard included. Its DNS is the system's: a
 * `resolve` injected for tests cannot cross to another thread, so those tests use `makeSender`.
 */
export type SenderThreadOptions = Omit<SenderOptions, 'resolve'>;

/** What the thread is started with (structured-clone safe: networks as text). */
export interface SenderThreadData extends Omit<SenderThreadOptions, 'allowNetworks'> {
  allowNetworks: string;
}

/** One request: [id, url, headers, body]. */
type QueuedRequest = [number, string, Record<string, string>, string];

export type ToThread = { kind: 'send'; batch: QueuedRequest[] } | { kind: 'close' };
export type FromThread = { kind: 'ready' } | { kind: 'results'; batch: [number, SendResult][] };

export interface SenderThreadHooks {
  /** The thread's module; default the compiled `sender-thread.js` beside this one. */
  entry?: URL | string;
  /** Told when the thread dies; its unanswered requests become failed attempts and a new thread starts. */
  onError?: (error: Error) => void;
}

const DEFAULT_ENTRY = new URL('./sender-thread.js', import.meta.url);

function failed(reason: string): SendResult {
  return {
    statusCode: 0,
    response: reason,
    durationMs: 0,
    retryAfter: undefined,
    deliveryControl: undefined,
  };
}

/** Starts the thread and resolves once it is ready to send; rejects if it cannot start. */
export async function startSenderThread(
  options: SenderThreadOptions,
  hooks: SenderThreadHooks = {},
): Promise<Sender> {
  const data: SenderThreadData = { ...options, allowNetworks: formatCidrList(options.allowNetworks) };
  const entry = hooks.entry ?? DEFAULT_ENTRY;
  const onError = hooks.onError ?? (() => {});
  const pending = new Map<number, (result: SendResult) => void>();
  let nextId = 0;
  let queued: QueuedRequest[] = [];
  let closing = false;

  function answerAll(reason: string): void {
    const waiting = [...pending.values()];
    pending.clear();
    for (const answer of waiting) answer(failed(reason));
  }

  function spawn(): { worker: Worker; ready: Promise<void>; exited: Promise<void> } {
    const worker = new Worker(entry, { workerData: data });
    let isReady = false;
    let failure: Error | null = null;
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromThread) => {
        if (message.kind === 'ready') {
          isReady = true;
          resolve();
          return;
        }
        for (const [id, result] of message.batch) {
          const answer = pending.get(id);
          pending.delete(id);
          answer?.(result);
        }
      });
      worker.once('error', (error) => {
        failure = error;
        if (!isReady) reject(error);
      });
    });
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', (code) => {
        if (current?.worker === worker) current = null;
        // The first start's failure is startSenderThread's rejection; later deaths are reported.
        if (started && !closing) {
          const why = failure ? `failed: ${failure.message}` : `exited with code ${code}`;
          onError(new Error(`sender thread ${why}`, { cause: failure ?? undefined }));
        }
        // Whatever it had not answered was maybe sent, maybe not: a failed attempt, retried later.
        answerAll(closing ? 'sender closed' : `sender thread exited (code ${code}) before answering`);
        resolve();
      }),
    );
    return { worker, ready, exited };
  }

  let started = false;
  let current: ReturnType<typeof spawn> | null = spawn();
  await current.ready;
  started = true;

  function flush(): void {
    const batch = queued;
    queued = [];
    if (closing) {
      for (const [id] of batch) {
        pending.get(id)?.(failed('sender closed'));
        pending.delete(id);
      }
      return;
    }
    // A thread that died is replaced on the next send; the requests wait in its port meanwhile.
    current ??= spawn();
    current.ready.catch(() => {});
    current.worker.postMessage({ kind: 'send', batch } satisfies ToThread);
  }

  return {
    send(req: SendRequest): Promise<SendResult> {
      if (closing) return Promise.resolve(failed('sender closed'));
      const id = nextId++;
      if (queued.length === 0) queueMicrotask(flush);
      queued.push([id, req.url, req.headers, req.body]);
      return new Promise((resolve) => pending.set(id, resolve));
    },
    async close() {
      closing = true;
      const running = current;
      if (!running) return;
      running.worker.postMessage({ kind: 'close' } satisfies ToThread);
      await running.exited;
    },
  };
}
