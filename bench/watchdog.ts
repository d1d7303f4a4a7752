/**
 * Preloaded into the Hookgate process (`node --import`): when the bench runner's IPC channel
 * closes (the runner exited or crashed), Hookgate exits too, so no run leaves a server behind.
 */
process.on('disconnect', () => process.exit(2));
