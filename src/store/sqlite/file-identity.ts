import { stat, statSync } from 'node:fs';

/** How often the database file's identity is checked, in ms. */
export const IDENTITY_CHECK_MS = 1000;

/**
 * Watches that the file at `path` is still the one opened (same device and inode). Removed
 * (`rm -rf` of its directory) or replaced (a restore copied over it), the open connection goes
 * on writing into a file nobody will ever open again: every write acknowledged from then on
 * would be lost at the next start. Checked off the event loop every IDENTITY_CHECK_MS;
 * `onLost` is called once, with why.
 */
export function watchFileIdentity(path: string, onLost: (error: Error) => void): { close(): void } {
  const opened = statSync(path);
  let done = false;
  const timer = setInterval(() => {
    stat(path, (error, now) => {
      if (done) return;
      let lost: Error | null = null;
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Other failures (EACCES, EIO) do not say the file is gone; the writes will tell.
        if (code === 'ENOENT' || code === 'ENOTDIR') lost = new Error(`database file ${path} was removed`);
      } else if (now.ino !== opened.ino || now.dev !== opened.dev) {
        lost = new Error(`database file ${path} was replaced by another file`);
      }
      if (!lost) return;
      done = true;
      clearInterval(timer);
      onLost(lost);
    });
  }, IDENTITY_CHECK_MS);
  timer.unref();
  return {
    close() {
      done = true;
      clearInterval(timer);
    },
  };
}
