import { Worker } from 'node:worker_threads';
import type { Body } from '../domain/body.js';
import { formatCidrList } from '../domain/ssrf.js';
import {
  type LostSend,
  noAnswer,
  type Sender,
  type SenderOptions,
  type SendRequest,
  type SendResult,
} from './sender.js';

/**
 * A Sender whose HTTP client runs on a thread of its own. In a drain about half of the event
 * loop's time per delivery went to undici, sockets and writev (BENCHMARKS.md); on that thread it
 * runs beside the store's work instead of after it. Requests cross in batches: the sends made in
 * one synchronous run (a claim starts up to 200 attempts at once) are one message.
 *
 * The thread runs the same `makeSender`, SSRF guard included. Its DNS is the system's: a
 * `resolve` injected for tests cannot cross to another thread, so those tests use `makeSender`.
 */
export type SenderThreadOptions = Omit<SenderOptions, 'resolve'>;

/** What the thread is started with (structured-clone safe: networks as text). */
export interface SenderThreadData extends Omit<SenderThreadOptions, 'allowNetworks'> {
  allowNetworks: string;
}

/** One request: [id, url, headers, body] (bytes arrive in the thread as a Uint8Array, which undici sends as they are). */
type QueuedRequest = [number, string, Record<string, string>, Body];

export type ToThread = { kind: 'send'; batch: QueuedRequest[] } | { kind: 'close' };
export type FromThread = { kind: 'ready' } | { kind: 'results'; batch: [number, SendResult][] };

export interface SenderThreadHooks {
  /** The thread's module; default the compiled `sender-thread.js` beside this one. */
  entry?: URL | string;
  /** Told when the thread dies; its unanswered requests are answered as lost and a new thread starts. */
  onError?: (error: Error) => void;
}

const DEFAULT_ENTRY = new URL('./sender-thread.js', import.meta.url);

/** How long `close` waits for the thread to finish by itself before stopping it. */
const CLOSE_GRACE_MS = 5000;

/** Starts the thread and resolves once it is ready to send; rejects if it cannot start. */
export async function startSenderThread(
  options: SenderThreadOptions,
  hooks: SenderThreadHooks = {},
): Promise<Sender> {
  const data: SenderThreadData = { ...options, allowNetworks: formatCidrList(options.allowNetworks) };
  const entry = hooks.entry ?? DEFAULT_ENTRY;
  const onError = hooks.onError ?? (() => {});
  const pending = new Map<number, (result: SendResult | LostSend) => void>();
  let nextId = 0;
  let queued: QueuedRequest[] = [];
  let closing = false;

  function answer(ids: readonly number[], result: SendResult | LostSend): void {
    for (const id of ids) {
      pending.get(id)?.(result);
      pending.delete(id);
    }
  }

  /** `initial`: the first start, whose failure is startSenderThread's rejection, not a report. */
  function spawn(initial: boolean): { worker: Worker; ready: Promise<void>; exited: Promise<void> } {
    const worker = new Worker(entry, { workerData: data });
    let isReady = false;
    let failure: Error | null = null;
    let ready!: { resolve: () => void; reject: (e: Error) => void };
    const readyPromise = new Promise<void>((resolve, reject) => {
      ready = { resolve, reject };
    });
    // Only the initial start awaits it; a replacement's failure is reported at its exit instead.
    readyPromise.catch(() => {});
    worker.on('message', (message: FromThread) => {
      if (message.kind === 'ready') {
        isReady = true;
        ready.resolve();
        return;
      }
      for (const [id, result] of message.batch) {
        pending.get(id)?.(result);
        pending.delete(id);
      }
    });
    // 'exit' always follows; it does the reporting. More than one 'error' can come.
    worker.on('error', (error) => {
      failure ??= error;
    });
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', (code) => {
        if (current?.worker === worker) current = null;
        const why = failure ? `failed: ${failure.message}` : `exited with code ${code}`;
        if (!isReady) ready.reject(failure ?? new Error(`sender thread ${why} before it was ready`));
        if (!closing && (isReady || !initial)) {
          onError(new Error(`sender thread ${why}`, { cause: failure ?? undefined }));
        }
        // Whatever it had not answered was maybe sent, maybe not: lost, for the dispatcher to
        // try again. (Requests still queued for the next message go to the next thread instead.)
        const unsent = new Set(queued.map(([id]) => id));
        const lost = [...pending.keys()].filter((id) => !unsent.has(id));
        answer(lost, closing ? noAnswer('sender closed') : { lost: `sender thread ${why} before answering` });
        resolve();
      }),
    );
    return { worker, ready: readyPromise, exited };
  }

  let current: ReturnType<typeof spawn> | null = spawn(true);
  await current.ready;

  function flush(): void {
    const batch = queued;
    queued = [];
    const ids = batch.map(([id]) => id);
    if (closing) {
      answer(ids, noAnswer('sender closed'));
      return;
    }
    try {
      // A thread that died is replaced on the next send; the requests wait in its port meanwhile.
      current ??= spawn(false);
    } catch (error) {
      // The OS refused a thread: these requests fail now; the next send tries again.
      onError(new Error(`sender thread could not start: ${(error as Error).message}`, { cause: error }));
      answer(ids, { lost: 'sender thread could not start' });
      return;
    }
    current.worker.postMessage({ kind: 'send', batch } satisfies ToThread);
  }

  return {
    send(req: SendRequest): Promise<SendResult | LostSend> {
      if (closing) return Promise.resolve(noAnswer('sender closed'));
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
      // Closing aborts every request at once; a thread that still has not exited is stopped.
      const timer = setTimeout(() => void running.worker.terminate(), CLOSE_GRACE_MS);
      await running.exited;
      clearTimeout(timer);
    },
  };
}
