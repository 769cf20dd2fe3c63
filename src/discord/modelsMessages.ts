// How /weird-models reads: each model with its workers, queue depth and recent speed.
import type { ModelView } from "../store/models.js";
import { safeInline } from "./format.js";

/** Jobs waiting or running on a model's queue. */
export interface QueueDepth {
  waiting: number;
  running: number;
}

/** Discord's limit on a message's content. */
const MESSAGE_LIMIT = 2000;

const megabytes = (bytes: number) =>
  bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.max(bytes / 1e6, 0.1).toFixed(1)} MB`;

/** The mean of the live workers' recent speeds, or null before any generated. */
export function recentSpeed(model: ModelView): number | null {
  const speeds = model.live.map(w => w.tokensPerSecond).filter((s): s is number => s !== null);
  return speeds.length === 0 ? null : speeds.reduce((a, b) => a + b, 0) / speeds.length;
}

export function modelsMessage(
  models: Array<{ model: ModelView; depth: QueueDepth }>,
  server: { default: string | null; allowed: string[] },
): string {
  if (models.length === 0) return "No model has registered yet: start a worker (npm run start:worker).";
  const lines = models.map(({ model, depth }) => {
    const { info } = model;
    const marks = [
      model.id === server.default ? "this server's default" : "",
      server.allowed.length > 0 && !server.allowed.includes(model.id) ? "not allowed here" : "",
    ].filter(Boolean);
    const head = `**${safeInline(model.id)}**${marks.length > 0 ? ` (${marks.join(", ")})` : ""} · ${safeInline(info.type)} · ${megabytes(info.sizeBytes)} · ${info.vocabularySize} tokens · context ${info.contextSize}`;
    if (model.live.length === 0)
      return `${head}\n  no worker running (last seen <t:${Math.floor(model.lastSeenAt / 1000)}:R>)`;
    const speed = recentSpeed(model);
    const workers = model.live.length === 1 ? "1 worker" : `${model.live.length} workers`;
    return `${head}\n  ${workers} · ${depth.waiting} waiting, ${depth.running} running · ${speed === null ? "no generation yet" : `${speed.toFixed(1)} tokens/s recently`}`;
  });
  // Whole models only: a cut line could leave a timestamp or bold mark half open.
  const shown = ["**Models**"];
  let length = shown[0]!.length;
  for (const [i, line] of lines.entries()) {
    const more = `…and ${lines.length - i} more`;
    const last = i === lines.length - 1;
    if (length + 1 + line.length + (last ? 0 : 1 + more.length) > MESSAGE_LIMIT) {
      shown.push(more);
      break;
    }
    shown.push(line);
    length += 1 + line.length;
  }
  return shown.join("\n");
}
