import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { makeGroupCommit } from '../../src/store/sqlite/group-commit.js';
import { type Fdatasync, openWalSync, type WalSync } from '../../src/store/sqlite/wal-sync.js';
import { tempDir } from '../helpers/hookgate.js';

/** A WalSync whose flushes finish when the test says so. */
function manualWalSync() {
  const pending: Array<() => void> = [];
  const sync: WalSync = {
    flushed: () => new Promise<void>((resolve) => pending.push(resolve)),
    idle: () => pending.length === 0,
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

  it('holds a claim back while a flush is owed for what it could have seen, and not otherwise', async () => {
    const db = database();
    const wal = manualWalSync();
    const commit = makeGroupCommit(db, wal.sync);
    const claim = { durable: false, afterDurable: true };
    const count = () => db.prepare('SELECT count(*) FROM t').pluck().get() as number;
    // Nothing owed: the claim settles at its commit.
    await commit(count, claim);
    expect(wal.pending).toHaveLength(0);
    // A publish committed, its flush still running: the claim that sees it waits for a flush.
    const published = commit(() => db.prepare('INSERT INTO t (v) VALUES (1)').run());
    await new Promise((r) => setImmediate(r));
    let seen: number | null = null;
    const claimed = commit(count, claim).then((n) => {
      seen = n;
    });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(seen).toBeNull();
    wal.finish();
    await new Promise((r) => setImmediate(r));
    wal.finish();
    await Promise.all([published, claimed]);
    expect(seen).toBe(1);
    db.close();
  });

  it('fails the writes of a batch whose flush fails, though they committed', async () => {
    const db = database();
    const sync: WalSync = {
      flushed: () => Promise.reject(new Error('EIO')),
      idle: () => true,
      close: async () => {},
    };
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

  describe('WAL flushes', () => {
    /** An fdatasync that finishes (or fails) when the test says so, counting its calls. */
    function heldFlush() {
      const calls: Array<(error: Error | null) => void> = [];
      const flush: Fdatasync = (_fd, done) => {
        calls.push(done);
      };
      return { flush, calls };
    }

    it('never lets a flush that was already running count for a later commit', async () => {
      const db = database();
      const held = heldFlush();
      const wal = openWalSync(join(dir, 'store.db'), held.flush);
      let first = false;
      let second = false;
      void wal.flushed().then(() => (first = true));
      expect(held.calls).toHaveLength(1);
      // Committed while the first flush runs: it needs the next one, shared with later callers.
      void wal.flushed().then(() => (second = true));
      void wal.flushed();
      expect(held.calls).toHaveLength(1);
      held.calls[0]!(null);
      await new Promise((r) => setImmediate(r));
      expect([first, second]).toEqual([true, false]);
      expect(held.calls).toHaveLength(2);
      expect(wal.idle()).toBe(false);
      held.calls[1]!(null);
      await new Promise((r) => setImmediate(r));
      expect(second).toBe(true);
      expect(wal.idle()).toBe(true);
      await wal.close();
      db.close();
    });

    it('fails every flush after one failed, and every flush after close', async () => {
      const db = database();
      const held = heldFlush();
      const wal = openWalSync(join(dir, 'store.db'), held.flush);
      const failing = wal.flushed();
      held.calls[0]!(new Error('EIO'));
      await expect(failing).rejects.toThrow(/WAL flush failed.*EIO/);
      // The kernel may have dropped the pages it could not write: a later success proves nothing.
      await expect(wal.flushed()).rejects.toThrow(/EIO/);
      expect(held.calls).toHaveLength(1);
      await wal.close();

      const other = openWalSync(join(dir, 'store.db'), held.flush);
      await other.close();
      await expect(other.flushed()).rejects.toThrow(/closed/);
      db.close();
    });
  });
});
