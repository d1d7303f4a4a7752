import { ApiError } from '../../domain/errors.js';

/** Unique-constraint violations become the API's 409; anything else propagates. */
export function conflictOnUnique<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new ApiError('conflict');
    throw e;
  }
}
