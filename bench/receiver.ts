/**
 * The webhook receiver, run as its own process (as a customer's server would be). Paths:
 *   /ok/...   answered 200 at once and counted by (path, webhook-id);
 *   /hold/... held open until the runner sends `release`, then answered 200;
 *   /hang/... never answered: the sender's timeout has to end it.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ReceiverCommand, type ReceiverEvent, wallNow } from './protocol.js';

const send = (event: ReceiverEvent) => process.send?.(event);

let seen = new Set<string>();
let requests = 0;
let duplicates = 0;
let target = 0;
let marks: number[] = [];
let announced = false;
let recordLatency = false;
let latencies: number[] = [];
let holding = true;
const held: ServerResponse[] = [];
let hanging = 0;

const T_FIELD = /"t":([0-9.]+)/;

function okRequest(path: string, id: string | undefined, body: string): void {
  requests++;
  if (id === undefined) return; // the raw loop: counted as a request only
  const key = `${path}|${id}`;
  if (seen.has(key)) {
    duplicates++;
    return;
  }
  seen.add(key);
  if (marks.length > 0 && seen.size >= marks[0]!) {
    send({ type: 'mark', at: wallNow(), count: marks.shift()! });
  }
  if (recordLatency) {
    const m = T_FIELD.exec(body);
    if (m) latencies.push(wallNow() - Number(m[1]));
  }
  if (!announced && target > 0 && seen.size >= target) {
    announced = true;
    send({ type: 'reached', at: wallNow(), distinct: seen.size });
  }
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/hang')) {
    hanging++;
    req.resume();
    res.on('close', () => hanging--);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (url.startsWith('/hold') && holding) {
      held.push(res);
      return;
    }
    const id = req.headers['webhook-id'];
    okRequest(
      url,
      typeof id === 'string' ? id : undefined,
      recordLatency ? Buffer.concat(chunks).toString() : '',
    );
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;

process.on('message', (raw: ReceiverCommand) => {
  switch (raw.cmd) {
    case 'reset':
      seen = new Set();
      requests = 0;
      duplicates = 0;
      target = raw.target;
      marks = [...raw.marks].sort((a, b) => a - b);
      announced = false;
      recordLatency = raw.recordLatency;
      latencies = [];
      holding = true;
      break;
    case 'release': {
      holding = false;
      const count = held.length;
      for (const res of held.splice(0)) {
        if (!res.destroyed) res.writeHead(200, { 'content-length': '2' }).end('ok');
      }
      send({ type: 'released', at: wallNow(), held: count });
      break;
    }
    case 'stats':
      send({
        type: 'stats',
        stats: { requests, distinct: seen.size, duplicates, held: held.length, hanging, latencies },
      });
      break;
  }
});
// The runner went away: so does the receiver.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
});
