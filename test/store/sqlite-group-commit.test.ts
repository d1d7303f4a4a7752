import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { makeGroupCommit } from '../../src/store/sqlite/group-commit.js';
import { openWalSync, type WalSync } from '../../src/store/sqlite/wal-sync.js';
import { tempDir } from '../helpers/hookgate.js';

/** A WalSync whose flushes finish when the test says so. */
function manualWalSync() {
  const pending: Array<() => void> = [];
  const sync: WalSync = {
    flushed: () => new Promise<void>((resolve) => pending.push(resolve)),
    close: async () => {},
  };
  const finish = () => {
    for (const done of pending.splice(0)) done();
  };
  return { sync, pending, finish };
}

describe('SQLite group commit with the WAL flushed off the event loop', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function database() {
    dir = tempDir();
    const db = openDatabase(join(dir, 'store.db'));
    db.exec('CREATE TABLE t (v INTEGER)');
    return db;
  }

  it('acknowledges durable writes only after a flush that follows their COMMIT; relaxed ones at COMMIT', async () => {
    const db = database();
    const wal = manualWalSync();
    const commit = makeGroupCommit(db, wal.sync);
    const settled: string[] = [];
    const insert = (v: number) => () => db.prepare('INSERT INTO t (v) VALUES (?)').run(v).changes;
    const durable = [commit(insert(1)), commit(insert(2))].map((p) => p.then(() => settled.push('durable')));
    const relaxed = commit(insert(3), { durable: false }).then(() => settled.push('relaxed'));
    await relaxed;
    // Committed (visible) already, but not acknowledged until the flush is done.
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(3);
    expect(settled).toEqual(['relaxed']);
    // One flush serves the whole batch.
    expect(wal.pending).toHaveLength(1);
    wal.finish();
    await Promise.all(durable);
    expect(settled).toEqual(['relaxed', 'durable', 'durable']);
    db.close();
  });

  it('asks for no flush when a batch holds only relaxed writes', async () => {
    const db = database();
    const wal = manualWalSync();
    const commit = makeGroupCommit(db, wal.sync);
    await commit(() => db.prepare('INSERT INTO t (v) VALUES (1)').run(), { durable: false });
    expect(wal.pending).toHaveLength(0);
    db.close();
  });

  it('fails the writes of a batch whose flush fails, though they committed', async () => {
    const db = database();
    const sync: WalSync = { flushed: () => Promise.reject(new Error('EIO')), close: async () => {} };
    const commit = makeGroupCommit(db, sync);
    await expect(commit(() => db.prepare('INSERT INTO t (v) VALUES (1)').run())).rejects.toThrow('EIO');
    db.close();
  });

  it('flushes the real WAL file: concurrent callers share flushes and all resolve', async () => {
    const db = database();
    const path = join(dir, 'store.db');
    const wal = openWalSync(path);
    const commit = makeGroupCommit(db, wal);
    const writes = Array.from({ length: 50 }, (_, i) =>
      commit(() => db.prepare('INSERT INTO t (v) VALUES (?)').run(i)),
    );
    await Promise.all(writes);
    await Promise.all([wal.flushed(), wal.flushed(), wal.flushed()]);
    await wal.close();
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(50);
    db.close();
  });
});
