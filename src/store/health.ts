import { ApiError, coerceError } from '../domain/errors.js';
import type { StorageFault, StoreHealth } from './store.js';

/** Told each time the store's health changes, with the error that changed it (none on recovery). */
export type HealthListener = (health: StoreHealth, cause: Error | null) => void;

/** How often a store that is unavailable but may recover tries again, in ms. */
export const PROBE_INTERVAL_MS = 1000;

const OK: StoreHealth = { state: 'ok' };

/**
 * The store's health, kept by the store itself from what its own operations observe (never a
 * query per request): faults come in through `fail`; a retryable one is probed every
 * PROBE_INTERVAL_MS until `probe` succeeds, which brings the store back to `ok`. A fault that
 * is not retryable, and a fatal one, stay until the process restarts.
 */
export interface HealthTracker {
  health(): StoreHealth;
  /** Records a fault (a fatal one or one that cannot recover outranks the rest) and reports it. */
  fail(fault: StorageFault, kind: 'retryable' | 'permanent' | 'fatal', cause: unknown): void;
  /** Stops probing. */
  close(): void;
}

export function makeHealthTracker(
  probe: () => Promise<unknown>,
  onChange: HealthListener = () => {},
): HealthTracker {
  let current = OK;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function report(next: StoreHealth, cause: unknown): void {
    current = next;
    try {
      onChange(next, cause === null ? null : coerceError(cause));
    } catch {
      // A listener (logging) never breaks the store.
    }
  }

  function probeSoon(): void {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      probe().then(
        () => {
          const stillRetryable = current.state === 'unavailable' && current.retryable;
          if (stillRetryable && !closed) report(OK, null);
        },
        () => probeSoon(),
      );
    }, PROBE_INTERVAL_MS);
    // A store waiting for its database never keeps the process alive by itself.
    timer.unref();
  }

  return {
    health: () => current,
    fail(fault, kind, cause) {
      if (current.state === 'fatal') return;
      if (current.state === 'unavailable' && !current.retryable && kind !== 'fatal') return;
      const next: StoreHealth =
        kind === 'fatal'
          ? { state: 'fatal', fault }
          : { state: 'unavailable', fault, retryable: kind === 'retryable' };
      // Told once per fault, not once per failed query while it lasts.
      if (JSON.stringify(next) !== JSON.stringify(current)) report(next, cause);
      if (kind === 'retryable') probeSoon();
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/** The API error a caller is answered with for `fault`, keeping what caused it (for the log). */
export function storageError(fault: StorageFault, cause: unknown): ApiError {
  return new ApiError(fault, undefined, undefined, { cause });
}

const FAULTS: ReadonlySet<string> = new Set<StorageFault>([
  'database_unavailable',
  'storage_full',
  'storage_lost',
  'storage_failed',
]);

/** Whether `error` is the store failing as a whole (see storageError), not a write it refused. */
export function isStorageFault(error: unknown): boolean {
  return error instanceof ApiError && FAULTS.has(error.code);
}
