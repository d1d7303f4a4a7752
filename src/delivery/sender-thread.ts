import { parentPort, workerData } from 'node:worker_threads';
import { parseCidrList } from '../domain/ssrf.js';
import { makeSender, type SendResult } from './sender.js';
import type { FromThread, SenderThreadData, ToThread } from './threaded-sender.js';

/**
 * The sender thread: runs `makeSender` for the main thread (threaded-sender.ts). Results go back
 * in batches, one message per turn of this thread's event loop, as requests come in.
 */
if (!parentPort) throw new Error('sender-thread.js runs as a worker thread of threaded-sender.js');
const port = parentPort;
const data = workerData as SenderThreadData;
const sender = makeSender({ ...data, allowNetworks: parseCidrList(data.allowNetworks) });

let results: [number, SendResult][] = [];
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  if (results.length === 0) return;
  const batch = results;
  results = [];
  port.postMessage({ kind: 'results', batch } satisfies FromThread);
}

function answered(id: number, result: SendResult): void {
  results.push([id, result]);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

port.on('message', (message: ToThread) => {
  if (message.kind === 'send') {
    for (const [id, url, headers, body] of message.batch) {
      // send never rejects: a failure is a result with status 0.
      void sender.send({ url, headers, body }).then((result) => answered(id, result));
    }
    return;
  }
  // Close: abort what is still in flight; those answers go back before the port closes.
  void sender.close().then(() =>
    setImmediate(() => {
      flush();
      port.close();
    }),
  );
});

port.postMessage({ kind: 'ready' } satisfies FromThread);
