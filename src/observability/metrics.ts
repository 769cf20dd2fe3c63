// Prometheus metrics of one process (bot or worker), served on METRICS_PORT at /metrics.
// Queue depth by state comes from BullMQ itself (bullmq_job_count), appended at scrape time.
import type { REST } from "@discordjs/rest";
import { UnrecoverableError, type Job, type Worker } from "bullmq";
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";
import type { ModelRegistry } from "../store/models.js";
import type { Queues } from "../store/queues.js";

export const registry = new Registry();
// Includes nodejs_eventloop_lag_seconds (and its percentiles), heap and CPU.
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

export type Sign = "positive" | "zero" | "negative";
export const signOf = (temperature: number): Sign =>
  temperature > 0 ? "positive" : temperature < 0 ? "negative" : "zero";

export type JobOutcome = "completed" | "refused" | "failed" | "retried" | "stalled";
export const jobs = new Counter({
  name: "belowzero_jobs_total",
  help: "Generation jobs by outcome (completed, refused by the engine and told privately, failed for good, failed and retried, stalled) and model",
  labelNames: ["outcome", "model"] as const,
  registers: [registry],
});

export const generationSeconds = new Histogram({
  name: "belowzero_generation_seconds",
  help: "Time to generate one job's text, by sign of the temperature and model",
  labelNames: ["sign", "model"] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [registry],
});

export const tokensPerSecond = new Histogram({
  name: "belowzero_generation_tokens_per_second",
  help: "Generation speed of one job, by sign of the temperature and model",
  labelNames: ["sign", "model"] as const,
  buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
  registers: [registry],
});

export const timeToFirstEdit = new Histogram({
  name: "belowzero_time_to_first_edit_seconds",
  help: "From the /weird interaction to the worker's first streaming edit of the reply (queue wait included)",
  buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  registers: [registry],
});

export const discordErrors = new Counter({
  name: "belowzero_discord_rest_errors_total",
  help: "Discord REST responses with an error status (429s included, before discord.js retries them)",
  labelNames: ["status"] as const,
  registers: [registry],
});

export type RefusalReason =
  | "cooldown"
  | "server_queue_full"
  | "queue_full"
  | "redis_unavailable"
  | "no_send_permission"
  | "channel_not_allowed"
  | "outside_server_range"
  | "model_unavailable"
  | "reply_window";
export const refusals = new Counter({
  name: "belowzero_refusals_total",
  help: "/weird requests (and rerolls, flips) answered without queueing, by reason",
  labelNames: ["reason"] as const,
  registers: [registry],
});

/** Counts every error response this REST client receives. */
export function observeRest(rest: REST): void {
  rest.on("response", (_request, response) => {
    if (response.status >= 400) discordErrors.inc({ status: String(response.status) });
  });
}

/** Counts the jobs of a worker serving `model` by outcome, from BullMQ's own events. */
export function observeWorker(worker: Worker, model: string): void {
  worker.on("completed", (_job, result: { refused?: string } | undefined) =>
    jobs.inc({ outcome: result?.refused ? "refused" : "completed", model }),
  );
  worker.on("failed", (job: Job | undefined, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    jobs.inc({ outcome: final ? "failed" : "retried", model });
  });
  worker.on("stalled", () => jobs.inc({ outcome: "stalled", model }));
}

/**
 * Each queue's depth, the models each queue serves, and each model's live workers, for the
 * bot's /metrics: read at scrape time from the registry (one HGETALL) and BullMQ (one count
 * per queue), so every bot process reports the same numbers. Depth is per queue, not per
 * model: models left on the shared queue would each report its whole depth, and sums would
 * count its jobs once per model. Model ids are [A-Za-z0-9._-], safe as label values.
 */
export async function modelQueueMetrics(
  registry: Pick<ModelRegistry, "models">,
  queues: Pick<Queues, "get">,
): Promise<string> {
  const models = await registry.models();
  const names = [...new Set(models.map(model => model.queue))];
  const depths = await Promise.all(
    names.map(name => queues.get(name).getJobCounts("waiting", "prioritized", "active", "delayed")),
  );
  const lines = [
    "# HELP belowzero_queue_jobs Jobs on each model queue: waiting (prioritized included), active, delayed",
    "# TYPE belowzero_queue_jobs gauge",
    ...names.flatMap((name, i) => {
      const counts = depths[i]!;
      const labels = (state: string) => `{queue="${name}",state="${state}"}`;
      return [
        `belowzero_queue_jobs${labels("waiting")} ${(counts.waiting ?? 0) + (counts.prioritized ?? 0)}`,
        `belowzero_queue_jobs${labels("active")} ${counts.active ?? 0}`,
        `belowzero_queue_jobs${labels("delayed")} ${counts.delayed ?? 0}`,
      ];
    }),
    "# HELP belowzero_model_queue The queue each known model is served from (always 1)",
    "# TYPE belowzero_model_queue gauge",
    ...models.map(model => `belowzero_model_queue{model="${model.id}",queue="${model.queue}"} 1`),
    "# HELP belowzero_model_workers Live workers of each model (heartbeat not yet expired)",
    "# TYPE belowzero_model_workers gauge",
    ...models.map(model => `belowzero_model_workers{model="${model.id}"} ${model.live.length}`),
  ];
  return lines.join("\n");
}

/** The Prometheus text of this process, and whatever the caller adds (BullMQ's queue metrics). */
export async function metricsText(extra: Array<() => Promise<string>> = []): Promise<string> {
  const parts = await Promise.all([registry.metrics(), ...extra.map(part => part().catch(() => ""))]);
  return mergeExpositions(parts);
}

/**
 * Several Prometheus texts as one: a family's HELP and TYPE once, and all its samples together
 * (Prometheus refuses a second HELP or TYPE for a name, or a family split in two). Each of a
 * worker's queues exports BullMQ's same families, one queue label apart.
 */
export function mergeExpositions(texts: string[]): string {
  const families = new Map<string, { comments: string[]; samples: string[] }>();
  const familyOf = (name: string) => {
    let family = families.get(name);
    if (!family) families.set(name, (family = { comments: [], samples: [] }));
    return family;
  };
  for (const line of texts.join("\n").split("\n")) {
    const comment = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (comment) {
      const family = familyOf(comment[2]!);
      if (!family.comments.some(seen => seen.startsWith(`# ${comment[1]} `))) family.comments.push(line);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!sample) continue; // blank lines, other comments
    // A histogram's or summary's _bucket, _sum and _count lines belong to the family declared.
    const name = sample[1]!;
    const declared = [name, name.replace(/_(bucket|sum|count)$/, "")].find(candidate => families.has(candidate));
    familyOf(declared ?? name).samples.push(line);
  }
  const lines = [...families.values()].flatMap(family => [...family.comments, ...family.samples]);
  return `${lines.join("\n")}\n`;
}
