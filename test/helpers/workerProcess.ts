// A worker in a process of its own, so a test can kill it with SIGKILL mid-job.
// Settings come from the environment: BZ_API_URL, BZ_PREFIX, BZ_LOCK_MS, BZ_CACHE_DIR (made
// and removed by the parent: a killed process cleans up nothing), and optionally BZ_MODEL (a
// GGUF other than the test model) and BZ_MODEL_ID (its MODEL_ID).
import { Engine } from "../../src/engine/engine.js";
import { startWorker } from "./discordBot.js";
import { testModelPath } from "./engine.js";

const engine = await Engine.load({
  model: process.env.BZ_MODEL ?? testModelPath(),
  cacheDir: process.env.BZ_CACHE_DIR!,
  gpu: false,
  threads: 1,
  contextSize: 512,
});
startWorker(engine, process.env.BZ_API_URL!, process.env.BZ_PREFIX!, {
  lockDurationMs: Number(process.env.BZ_LOCK_MS),
  stalledIntervalMs: 1000,
  ...(process.env.BZ_MODEL_ID && { modelId: process.env.BZ_MODEL_ID }),
});
console.log("worker ready");
