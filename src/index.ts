export { DEFAULTS, type HookgateConfig, parseConfig } from './cli/config.js';
export { type RunningHookgate, startHookgate } from './cli/server.js';
export { generateSecret, parseSecret, sign, signatureHeader, verify } from './domain/signing.js';
export { openSqliteStore } from './store/sqlite/index.js';
export type { Store } from './store/store.js';
