// npm run start:worker — one process per GPU: loads the model once, then serves the queue.
import { Queue } from "bullmq";
import { config as loadDotenv } from "dotenv";
import { deprecationWarnings, loadOperationsSettings, loadWorkerConfig } from "../config.js";
import { backendLoadError, checkBackend, formatBackend } from "../engine/backend.js";
import { Engine } from "../engine/engine.js";
import { describeNegation } from "../engine/negation.js";
import { createLogger, logFunction } from "../observability/log.js";
import { startObservabilityServer } from "../observability/server.js";
import { DAY_MS, OutputStore } from "../store/outputs.js";
import { oncePerOutage, workerConnection } from "../store/redis.js";
import { Throttle } from "../store/throttle.js";
import { onShutdown } from "../shutdown.js";
import { createRest } from "./reply.js";
import { createWorker } from "./worker.js";

loadDotenv({ quiet: true });
let logger = createLogger({ service: "worker", secrets: [process.env.DISCORD_TOKEN ?? ""] });

async function main(): Promise<void> {
  const operations = loadOperationsSettings();
  const config = loadWorkerConfig();
  logger = createLogger({ service: "worker", level: operations.logLevel, secrets: [config.discord.token] });
  const log = logFunction(logger);
  for (const warning of deprecationWarnings(process.env)) logger.warn(warning);
  const engine = await Engine.load(config.engine).catch((error: Error) => {
    throw backendLoadError(config.engine.gpu, error);
  });
  log(
    `loaded ${engine.modelName}; ${describeNegation(engine.negation)}; ` +
      (engine.nativeSteps
        ? "steps: native (one job per chunk of steps for all running generations, weirdness read in the steps)"
        : "steps: node-llama-cpp's loop"),
  );
  const backend = await engine.backend();
  log(formatBackend(backend));
  checkBackend(config.engine.gpu, backend);
  const connection = workerConnection(config.queue.redisUrl, message => logger.warn(message));
  const { worker, shutdown, heartbeat } = createWorker({
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
  log(`serving ${heartbeat.info.id} from the queue ${heartbeat.queue} as ${heartbeat.workerId}`);

  const port = operations.metricsPort;
  if (port > 0) {
    // A queue handle only for BullMQ's metrics (depth by state, completed and failed counts).
    const queue = new Queue(heartbeat.queue, { connection, prefix: config.queue.prefix });
    const sayError = oncePerOutage(connection, message => logger.warn(message));
    queue.on("error", error => sayError(`queue: ${error.message}`));
    const health = () => ({ redis: connection.status === "ready", worker: worker.isRunning() });
    await startObservabilityServer(port, health, [() => queue.exportPrometheusMetrics()]);
  }

  // Running jobs finish (or are handed back to the queue) before the process exits.
  onShutdown(log, async () => {
    await shutdown();
    await engine.dispose();
    connection.disconnect();
  });
}

main().catch((error: Error) => {
  logger.fatal(error.message);
  process.exit(1);
});
