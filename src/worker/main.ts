// npm run start:worker — one process per GPU: loads its model (or MODELS) once, then serves each one's queue.
import { Queue } from "bullmq";
import { config as loadDotenv } from "dotenv";
import {
  deprecationWarnings,
  loadOperationsSettings,
  loadWorkerConfig,
  type ServedModel,
  type WorkerConfig,
} from "../config.js";
import { backendLoadError, checkBackend, formatBackend, threadPoolWarning } from "../engine/backend.js";
import { availableParallelism } from "node:os";
import { basename } from "node:path";
import type { Llama } from "node-llama-cpp";
import { defaultThreads, Engine, openLlama } from "../engine/engine.js";
import { DEFAULT_CONTEXT_SIZE, DEFAULT_NEGATION } from "../engine/defaults.js";
import { describeNegation, planNegation } from "../engine/negation.js";
import { hasNativeSteps } from "../engine/nativeSteps.js";
import { resolveModel } from "../engine/modelFile.js";
import { createLogger, logFunction } from "../observability/log.js";
import { startObservabilityServer } from "../observability/server.js";
import { DAY_MS, OutputStore } from "../store/outputs.js";
import { oncePerOutage, workerConnection } from "../store/redis.js";
import { Throttle } from "../store/throttle.js";
import { onShutdown } from "../shutdown.js";
import { createRest } from "./reply.js";
import { createWorker } from "./worker.js";
import { defaultModelsAtOnce, estimateNeeds, freeMemory, memoryShortfalls, ModelGate } from "./capacity.js";

/** A model to serve, with the local file its path or URI resolved to. */
type LocatedModel = ServedModel & { path: string };

// As the process started: libuv read it then, so a value from .env (loaded next) changes nothing.
const threadPoolAtStart = process.env.UV_THREADPOOL_SIZE;
loadDotenv({ quiet: true });
let logger = createLogger({ service: "worker", secrets: [process.env.DISCORD_TOKEN ?? ""] });

async function main(): Promise<void> {
  const operations = loadOperationsSettings();
  const config = loadWorkerConfig();
  logger = createLogger({ service: "worker", level: operations.logLevel, secrets: [config.discord.token] });
  const log = logFunction(logger);
  for (const warning of [...deprecationWarnings(process.env), ...config.warnings]) logger.warn(warning);
  // One Llama for every model: llama.cpp's backend is loaded once per process.
  const llama = await openLlama(config.engine.gpu).catch((error: Error) => {
    throw backendLoadError(config.engine.gpu, error);
  });
  // Every file is found (a URI downloaded) and checked before any is loaded: a typo in the last
  // entry costs no load time, and models that cannot fit together are refused up front.
  const served: LocatedModel[] = [];
  for (const entry of config.models)
    served.push({ ...entry, path: await resolveModel(entry.model, config.engine.modelsDir ?? "models") });
  if (served.length > 1) await checkMemory(served, config, llama, logger.warn.bind(logger));

  const engines: Engine[] = [];
  for (const model of served) {
    // The configured name, not the downloaded file's: outputs and cards show it.
    const engine = await Engine.load({ ...config.engine, model: model.model }, llama).catch((error: Error) => {
      throw backendLoadError(config.engine.gpu, error);
    });
    engines.push(engine);
    log(
      `loaded ${engine.modelName}${model.id ? ` as ${model.id}` : ""}; ${describeNegation(engine.negation)}; ` +
        (engine.nativeSteps
          ? "steps: native (one job per chunk of steps for all running generations, weirdness read in the steps)"
          : "steps: node-llama-cpp's loop"),
    );
    const backend = await engine.backend();
    log(formatBackend(backend));
    // Checked with the first model, so a wrong backend does not cost the others' load time.
    if (engines.length === 1) checkBackend(config.engine.gpu, backend);
  }

  const threads = config.engine.threads ?? defaultThreads();
  const poolWarning = threadPoolWarning(threads, { UV_THREADPOOL_SIZE: threadPoolAtStart });
  if (poolWarning) logger.warn(poolWarning);
  const contexts = Math.max(...engines.map(engine => (engine.negation.route === "sampler" ? 1 : 2)));
  const atOnce = config.modelsAtOnce ?? defaultModelsAtOnce(threads, contexts);
  const gate = engines.length > 1 ? new ModelGate(atOnce) : undefined;
  if (gate)
    log(
      `${engines.length} models, at most ${atOnce} generating at once (${contexts} context${contexts > 1 ? "s" : ""} of ${threads} thread${threads > 1 ? "s" : ""} each, ${availableParallelism()} cores; MODELS_AT_ONCE)`,
    );

  const connection = workerConnection(config.queue.redisUrl, message => logger.warn(message));
  const rest = createRest(config.discord.token, config.discord.apiUrl);
  const outputs = new OutputStore(connection, config.queue.prefix, config.records.retentionDays * DAY_MS);
  const throttle = new Throttle(connection, config.queue.prefix);
  const workers = served.map((model, i) => {
    const running = createWorker({
      engine: engines[i]!,
      rest,
      connection,
      prefix: config.queue.prefix,
      concurrency: config.engine.concurrency ?? 1,
      settings: { ...config.worker, ...(model.id !== undefined && { modelId: model.id }) },
      outputs,
      throttle,
      log,
      ...(gate && { gate }),
    });
    const { heartbeat } = running;
    log(`serving ${heartbeat.info.id} from the queue ${heartbeat.queue} as ${heartbeat.workerId}`);
    return running;
  });

  const port = operations.metricsPort;
  if (port > 0) {
    // Queue handles only for BullMQ's metrics (depth by state, completed and failed counts).
    const sayError = oncePerOutage(connection, message => logger.warn(message));
    const queues = workers.map(({ heartbeat }) => {
      const queue = new Queue(heartbeat.queue, { connection, prefix: config.queue.prefix });
      queue.on("error", error => sayError(`queue: ${error.message}`));
      return queue;
    });
    const health = () => ({
      redis: connection.status === "ready",
      worker: workers.every(({ worker }) => worker.isRunning()),
    });
    // One export per model's queue: metricsText merges their families into one of each.
    await startObservabilityServer(
      port,
      health,
      queues.map(queue => () => queue.exportPrometheusMetrics()),
    );
  }

  // Running jobs finish (or are handed back to the queue) before the process exits.
  onShutdown(log, async () => {
    await Promise.all(workers.map(({ shutdown }) => shutdown()));
    for (const engine of engines) await engine.dispose();
    await llama.dispose();
    connection.disconnect();
  });
}

/**
 * Several models in one process: refuses models that together need more RAM than is free. For
 * VRAM it only warns: node-llama-cpp keeps on the CPU the layers that do not fit (slower).
 */
async function checkMemory(
  served: LocatedModel[],
  config: WorkerConfig,
  llama: Llama,
  warn: (message: string) => void,
): Promise<void> {
  const negation = { ...DEFAULT_NEGATION, ...config.engine.negation };
  // The patch that adds the native step also makes the sampler negate: "auto" will take the
  // sampler route (one context, nothing extra), which each engine then proves as it loads.
  const patched = hasNativeSteps(llama);
  const needs = await estimateNeeds(
    served.map(model => ({
      id: model.id ?? basename(model.path),
      path: model.path,
      ...planNegation(model.path, negation, patched),
    })),
    llama,
    {
      size: config.engine.contextSize ?? DEFAULT_CONTEXT_SIZE,
      sequences: config.engine.concurrency ?? 1,
      gpuLayers: config.engine.gpuLayers ?? "auto",
    },
  );
  const { ram, vram } = memoryShortfalls(needs, await freeMemory(llama));
  if (ram) throw new Error(ram);
  if (vram) warn(`${vram} On the GPU the layers that do not fit run on the CPU, slower.`);
}

main().catch((error: Error) => {
  logger.fatal(error.message);
  process.exit(1);
});
