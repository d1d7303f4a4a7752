import { ApiError } from '../../domain/errors.js';

/** PostgreSQL's unique_violation becomes the API's 409; anything else propagates. */
export async function conflictOnUnique<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw new ApiError('conflict');
    throw e;
  }
}
