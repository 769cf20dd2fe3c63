// npm run start:worker — one process per GPU: loads the model once, then serves the queue.
import { config as loadDotenv } from "dotenv";
import { loadWorkerConfig } from "../config.js";
import { backendLoadError, checkBackend, formatBackend } from "../engine/backend.js";
import { Engine } from "../engine/engine.js";
import { metricsPort, startObservabilityServer } from "../observability/server.js";
import { DAY_MS, OutputStore } from "../store/outputs.js";
import { workerConnection } from "../store/redis.js";
import { Throttle } from "../store/throttle.js";
import { onShutdown } from "../shutdown.js";
import { createRest } from "./reply.js";
import { createWorker } from "./worker.js";

const log = (line: string) => console.log(`[worker] ${line}`);

async function main(): Promise<void> {
  loadDotenv({ quiet: true });
  const config = loadWorkerConfig();
  const engine = await Engine.load(config.engine).catch((error: Error) => {
    throw backendLoadError(config.engine.gpu, error);
  });
  log(`loaded ${engine.modelName} (negation: ${engine.negation.route})`);
  const backend = await engine.backend();
  log(formatBackend(backend));
  checkBackend(config.engine.gpu, backend);
  const connection = workerConnection(config.queue.redisUrl);
  const { worker, shutdown } = createWorker({
    engine,
    rest: createRest(config.discord.token, config.discord.apiUrl),
    connection,
    prefix: config.queue.prefix,
    concurrency: config.engine.concurrency ?? 1,
    settings: config.worker,
    outputs: new OutputStore(connection, config.queue.prefix, config.records.retentionDays * DAY_MS),
    throttle: new Throttle(connection, config.queue.prefix),
    log,
  });

  const port = metricsPort();
  if (port > 0)
    await startObservabilityServer(port, () => ({ redis: connection.status === "ready", worker: worker.isRunning() }));

  // Running jobs finish (or are handed back to the queue) before the process exits.
  onShutdown(log, async () => {
    await shutdown();
    await engine.dispose();
    connection.disconnect();
  });
}

main().catch((error: Error) => {
  console.error(`[worker] ${error.message}`);
  process.exit(1);
});
