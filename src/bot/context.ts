import type { Queue } from "bullmq";
import type { BotConfig } from "../config.js";
import type { Limits } from "../store/limits.js";
import type { OutputStore } from "../store/outputs.js";

/** What command and button handlers need; one per bot process. */
export interface BotContext {
  config: BotConfig;
  queue: Queue;
  limits: Limits;
  outputs: OutputStore;
  /** False while the Redis connection is down: handlers then answer at once, within Discord's 3 s. */
  redisReady: () => boolean;
  log: (line: string) => void;
}
