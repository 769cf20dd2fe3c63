// Graceful shutdown on SIGINT/SIGTERM for the bot and the worker. Repeated signals (Ctrl-C
// reaches every process of the group, and `npm start` passes it on too) must not cut the
// first, graceful one short.
export function onShutdown(log: (line: string) => void, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    stop().then(
      () => process.exit(0),
      (error: Error) => {
        log(`shutdown failed: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handle);
  process.on("SIGTERM", handle);
}
