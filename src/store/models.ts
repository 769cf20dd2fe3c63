// The live models: every worker says what it serves, with a heartbeat, in one hash
// (P:workers); the bot reads it with one HGETALL to route, autocomplete and list models. An
// entry counts as alive until its expiresAt: a worker that dies drops out within
// HEARTBEAT_TTL_MS, and one that stops cleanly removes itself at once. Dead entries stay a
// day, so the bot can tell "no worker any more" (and answer that model's waiting jobs) from
// "never heard of it". Every time is Redis's own: workers and bots on different machines
// would otherwise judge a heartbeat by clocks seconds apart, against a TTL of seconds.
import type { Redis } from "ioredis";
import { InvalidRequestError } from "../engine/request.js";
import { QUEUE_NAME, RedisKeys } from "./keys.js";

/** How often a worker refreshes its entry, and how long an entry lives without one. */
export const HEARTBEAT_INTERVAL_MS = 2000;
export const HEARTBEAT_TTL_MS = 6000;
/** Dead entries are forgotten after this long (by the next heartbeat of any worker). */
const FORGET_AFTER_MS = 24 * 3600 * 1000;
/** An orphaned job's claim outlives every round that could still list the job. */
const ORPHAN_CLAIM_MS = 3600 * 1000;

/** What a model is, as its worker loaded it. */
export interface ModelInfo {
  /** MODEL_ID, else the GGUF's general.name, else its file name (see modelIdOf). */
  id: string;
  file: string;
  sizeBytes: number;
  /** llama.cpp's description of the weights, e.g. "llama 7B Q4_K - Medium". */
  type: string;
  vocabularySize: number;
  contextSize: number;
}

/** One worker's entry. */
export interface WorkerEntry extends ModelInfo {
  workerId: string;
  /** The BullMQ queue it takes jobs from (modelQueueName). */
  queue: string;
  /** Recent tokens per second (its last generations'), or null before the first. */
  tokensPerSecond: number | null;
  /** Jobs it runs at once (WORKER_CONCURRENCY); absent from workers that predate it (then 1). */
  concurrency?: number;
  seenAt: number;
  expiresAt: number;
}

/** A model as the bot sees it: its live workers, and when one was last alive. */
export interface ModelView {
  id: string;
  queue: string;
  /** From the most recently seen worker. */
  info: ModelInfo;
  live: WorkerEntry[];
  lastSeenAt: number;
}

/** Model ids are what members type in /weird model: and what names a queue. */
export const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A model id a member typed, checked (InvalidRequestError says why not). */
export function checkModelId(id: string): string {
  const trimmed = id.trim();
  if (!MODEL_ID_PATTERN.test(trimmed))
    throw new InvalidRequestError(
      "A model id is 1 to 64 letters, digits, dots, dashes or underscores: pick one from the suggestions or /weird-models.",
    );
  return trimmed;
}

/** A model's default id: its GGUF name, else its file name, made fit for MODEL_ID_PATTERN. */
export function modelIdOf(generalName: string | undefined, file: string): string {
  const clean = (text: string) =>
    text
      .trim()
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^[^A-Za-z0-9]+/, "")
      .slice(0, 64);
  const fromName = generalName ? clean(generalName) : "";
  return fromName || clean(file.replace(/\.gguf$/i, "")) || "model";
}

/** Redis's clock in ms, read on the node that holds `key` (each node of a cluster has its own). */
const REDIS_TIME = "local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000)";

export class ModelRegistry {
  private readonly keys: RedisKeys;

  /** `clock`: for tests; by default Redis's, shared by every process. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly clock?: () => number,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** Now, on the registry's clock: what seenAt, expiresAt and lastSeenAt are measured on. */
  async now(): Promise<number> {
    if (this.clock) return this.clock();
    return Number(await this.redis.eval(REDIS_TIME, 1, this.keys.workers));
  }

  /** Writes (or refreshes) a worker's entry, and forgets entries dead for a day. */
  async heartbeat(entry: Omit<WorkerEntry, "seenAt" | "expiresAt">): Promise<void> {
    const now = await this.now();
    const record: WorkerEntry = { ...entry, seenAt: now, expiresAt: now + HEARTBEAT_TTL_MS };
    await this.redis.hset(this.keys.workers, entry.workerId, JSON.stringify(record));
    const stale = (await this.entries()).filter(e => e.expiresAt < now - FORGET_AFTER_MS).map(e => e.workerId);
    if (stale.length > 0) await this.redis.hdel(this.keys.workers, ...stale);
  }

  /** A clean shutdown: the worker is gone now, not in a few seconds. Its model stays known. */
  async remove(workerId: string): Promise<void> {
    const raw = await this.redis.hget(this.keys.workers, workerId);
    if (raw === null) return;
    const entry = JSON.parse(raw) as WorkerEntry;
    const now = await this.now();
    await this.redis.hset(this.keys.workers, workerId, JSON.stringify({ ...entry, seenAt: now, expiresAt: now - 1 }));
  }

  /**
   * True for the one caller that may tell an orphaned job's member. BullMQ 6.7.0's Queue.remove
   * answers 1 for a job that is already gone, so two bot processes removing the same job
   * would both think they took it.
   */
  async claimOrphan(jobId: string): Promise<boolean> {
    return (await this.redis.set(this.keys.orphanTold(jobId), "1", "PX", ORPHAN_CLAIM_MS, "NX")) === "OK";
  }

  /** Every model heard of in the last day, by id, with its live workers: one Redis call. */
  async models(): Promise<ModelView[]> {
    const [now, entries] = await Promise.all([this.now(), this.entries()]);
    const byId = new Map<string, ModelView>();
    for (const entry of entries.sort((a, b) => a.seenAt - b.seenAt)) {
      const info: ModelInfo = {
        id: entry.id,
        file: entry.file,
        sizeBytes: entry.sizeBytes,
        type: entry.type,
        vocabularySize: entry.vocabularySize,
        contextSize: entry.contextSize,
      };
      const view = byId.get(entry.id) ?? { id: entry.id, queue: entry.queue, info, live: [], lastSeenAt: 0 };
      // The newest worker's description wins (a model replaced under the same id).
      Object.assign(view, { queue: entry.queue, info, lastSeenAt: Math.max(view.lastSeenAt, entry.seenAt) });
      if (entry.expiresAt >= now) view.live.push(entry);
      byId.set(entry.id, view);
    }
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  private async entries(): Promise<WorkerEntry[]> {
    const raw = await this.redis.hgetall(this.keys.workers);
    return Object.values(raw).flatMap(text => {
      try {
        return [JSON.parse(text) as WorkerEntry];
      } catch {
        return []; // not ours to interpret; a worker's next heartbeat rewrites its own
      }
    });
  }
}

/** Where a request goes: a queue, and the model it pins (absent: any worker of the shared queue). */
export type Route = { queue: string; model?: string } | { refusal: string };

/** The live models' ids, for an answer. */
function liveList(models: ModelView[]): string {
  const live = models.filter(m => m.live.length > 0).map(m => m.id);
  return live.length === 0 ? "no model has a worker running right now" : `live models: ${live.join(", ")}`;
}

/**
 * Routes a request: the model the member named, else the server's default, else the shared
 * queue's model, else the first live one. With no worker alive at all and no model named,
 * the job goes to the shared queue and waits, as a one-model deployment always did.
 * The server's allowed list (non-empty) limits what may be chosen.
 */
export function routeRequest(
  models: ModelView[],
  named?: string,
  server: { default: string | null; allowed: readonly string[] } = { default: null, allowed: [] },
): Route {
  const { allowed } = server;
  const wanted = named ?? server.default ?? undefined;
  const permitted = (id: string) => allowed.length === 0 || allowed.includes(id);
  if (wanted !== undefined) {
    const model = models.find(m => m.id === wanted);
    if (!permitted(wanted))
      return { refusal: `This server allows only these models: ${allowed.join(", ")}. ${wanted} is not one of them.` };
    if (!model) return { refusal: `There is no model called "${wanted}" (${liveList(models)}).` };
    if (model.live.length === 0)
      return {
        refusal: `${wanted} has no worker running right now, so nothing was queued (${liveList(models)}). Please try again later.`,
      };
    return { queue: model.queue, model: model.id };
  }
  const live = models.filter(m => m.live.length > 0 && permitted(m.id));
  // Unpinned: any worker of the shared queue may take it.
  if (live.some(m => m.queue === QUEUE_NAME)) return { queue: QUEUE_NAME };
  const first = live[0];
  if (first) return { queue: first.queue, model: first.id };
  if (allowed.length > 0 && models.some(m => m.live.length > 0))
    return { refusal: `None of the models this server allows (${allowed.join(", ")}) has a worker running right now.` };
  return { queue: QUEUE_NAME };
}
