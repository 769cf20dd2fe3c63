// The worker's side of the model registry: what it serves (read once from the loaded model)
// and a heartbeat that keeps its entry alive while it runs, with its recent speed.
import { hostname } from "node:os";
import { basename } from "node:path";
import { randomUUID } from "node:crypto";
import type { Engine } from "../engine/engine.js";
import { modelQueueName } from "../store/keys.js";
import { HEARTBEAT_INTERVAL_MS, modelIdOf, type ModelInfo, type ModelRegistry } from "../store/models.js";

/** The model as the registry shows it; `alias` is MODEL_ID. */
export function modelInfo(engine: Engine, alias: string | undefined): ModelInfo {
  const { model } = engine;
  const metadata = model.fileInfo.metadata as {
    general?: { name?: unknown };
    tokenizer?: { ggml?: { tokens?: unknown } };
  };
  const name = typeof metadata.general?.name === "string" ? metadata.general.name : undefined;
  const tokens = metadata.tokenizer?.ggml?.tokens;
  const file = basename(model.filename ?? engine.modelName);
  return {
    id: alias ?? modelIdOf(name, file),
    file,
    sizeBytes: model.size,
    type: String(model.typeDescription),
    vocabularySize: Array.isArray(tokens) ? tokens.length : 0,
    contextSize: engine.contextSize,
  };
}

/** Recent tokens per second: an average that follows the last few generations. */
class Speed {
  private value: number | null = null;
  add(tokensPerSecond: number): void {
    if (!Number.isFinite(tokensPerSecond) || tokensPerSecond <= 0) return;
    this.value = this.value === null ? tokensPerSecond : 0.7 * this.value + 0.3 * tokensPerSecond;
  }
  get(): number | null {
    return this.value === null ? null : Number(this.value.toFixed(1));
  }
}

export interface Heartbeat {
  readonly info: ModelInfo;
  readonly queue: string;
  readonly workerId: string;
  /** A generation finished at this speed. */
  recordSpeed(tokensPerSecond: number): void;
  /** Writes the entry now (the first beat, before taking jobs). */
  beat(): Promise<void>;
  /** Stops beating and removes the entry: the model is gone from the live list at once. */
  stop(): Promise<void>;
}

export function startHeartbeat(
  registry: ModelRegistry,
  engine: Engine,
  alias: string | undefined,
  /** Jobs it runs at once: the bot's deadline estimate counts them. */
  concurrency: number,
  onError: (error: Error) => void,
): Heartbeat {
  const info = modelInfo(engine, alias);
  const queue = modelQueueName(alias);
  const workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const speed = new Speed();
  // One beat at a time (a slow Redis does not pile them up), and none after the stop: a beat
  // reads Redis's clock before it writes, so one still on its way would land after the
  // removal and bring a stopped worker back to life for a TTL.
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  const beat = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    inFlight ??= registry
      .heartbeat({ ...info, workerId, queue, concurrency, tokensPerSecond: speed.get() })
      .finally(() => (inFlight = undefined));
    return inFlight;
  };
  const timer = setInterval(() => void beat().catch(onError), HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    info,
    queue,
    workerId,
    recordSpeed: tps => speed.add(tps),
    beat,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await inFlight?.catch(() => undefined);
      await registry.remove(workerId).catch(onError);
    },
  };
}
