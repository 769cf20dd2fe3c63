// A generation job: what the bot puts on the queue (its name is QUEUE_NAME in store/keys.ts),
// and the checks a worker applies before trusting a payload.
import { isDiscordId } from "./discordId.js";
import { checkMaxTokens, checkPrompt, checkSeed, checkTemperature, checkVocabulary } from "./engine/request.js";
import { checkSchedule, type Schedule } from "./engine/schedule.js";
import type { Vocabulary } from "./engine/vocabulary.js";
import { MODEL_ID_PATTERN } from "./store/models.js";
import { MAX_COMPARISON_PARTS } from "./store/comparisons.js";

/** What a member asked for, checked at the bot: the same fields the engine takes. */
export interface WeirdRequest {
  prompt: string;
  temperature: number;
  maxTokens: number;
  seed: number;
  /** A sweep: the same prompt at each of these temperatures, one message with a chart. */
  sweep?: number[];
  /** A temperature per token (temperature is then the schedule's first). */
  schedule?: Schedule;
  /** Which tokens may be sampled, by the script they spell; absent means "any". */
  vocab?: Vocabulary;
  /** The model's id (the registry's); absent: any worker of the shared queue. */
  model?: string;
  /** The message whose text is the prompt (a message command): its link, shown with the result. */
  source?: string;
}

/** A comparison's part (/weird-compare): which comparison, and which of its `of` parts. */
export interface ComparisonPartRef {
  id: string;
  part: number;
  of: number;
}

/** A link to a Discord message, as messageLink() builds it (server id, or @me in DMs). */
export const MESSAGE_LINK = /^https:\/\/discord\.com\/channels\/(?:\d{1,20}|@me)\/\d{1,20}\/\d{1,20}$/;

/** Most rows a sweep may have (two rows of vote buttons). */
export const MAX_SWEEP_ROWS = 8;

/** A queued generation: the request, and where its result goes. */
export interface WeirdJob extends WeirdRequest {
  /** Where the reply goes: the deferred interaction reply while its token lives, else the channel. */
  applicationId: string;
  interactionToken: string;
  /** When the interaction arrived (ms since epoch); its token lives 15 minutes from then. */
  interactionAt: number;
  guildId: string | null;
  channelId: string;
  userId: string;
  /**
   * Where belowzero is not a member (answersOnlyThroughInteraction), the result can only arrive
   * through the interaction token: by this time (ms since epoch), and never as a channel post.
   */
  deadline?: number;
  /** "cards": results as Components V2 cards (sweeps stay plain); absent: plain messages. */
  layout?: "cards";
  /**
   * The server's token policy: raw byte tokens below zero. Absent in jobs queued before
   * servers had settings; the worker then keeps its own ALLOW_BYTE_TOKENS.
   */
  allowBytes?: boolean;
  /** Part of a comparison: its result goes into the comparison's one message. */
  compare?: ComparisonPartRef;
}

/** Discord lets an interaction token answer for 15 minutes from the interaction. */
export const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60 * 1000;

/**
 * When a job with a deadline must stop generating: early enough to score the output and
 * deliver it, a quarter of its window at most (a short window is a short job), 10 s at most.
 */
export function stopGeneratingBy(interactionAt: number, deadline: number): number {
  return deadline - Math.min(10_000, (deadline - interactionAt) / 4);
}

/** A private weirdness score of a message's text ("How weird is this?"): no generation. */
export interface ScoreJob {
  applicationId: string;
  /** The answer is the ephemeral deferred reply: only this token can reach it. */
  interactionToken: string;
  interactionAt: number;
  guildId: string | null;
  userId: string;
  text: string;
}

/** Queue job names: a generation (WeirdJob) and a score (ScoreJob). */
export const SCORE_JOB = "score";

function fail(reason: string): never {
  throw new Error(`Malformed job: ${reason}`);
}

/** Validates a job payload from Redis; anything else fails the job with a clear reason. */
export function parseJob(data: unknown): WeirdJob {
  if (typeof data !== "object" || data === null) fail("the payload is not an object");
  const job = data as Record<string, unknown>;
  const text = (key: string) => (typeof job[key] === "string" ? job[key] : fail(`${key} must be a string`));
  const id = (key: string) => (isDiscordId(text(key)) ? text(key) : fail(`${key} must be a Discord id`));
  const number = (key: string) => (typeof job[key] === "number" ? job[key] : fail(`${key} must be a number`));
  const checked = <T>(check: () => T) => {
    try {
      return check();
    } catch (error) {
      return fail((error as Error).message);
    }
  };
  return {
    applicationId: id("applicationId"),
    interactionToken: text("interactionToken"),
    interactionAt: number("interactionAt"),
    guildId: job.guildId === null ? null : id("guildId"),
    channelId: id("channelId"),
    userId: id("userId"),
    prompt: checked(() => checkPrompt(text("prompt"), { maxPromptCharacters: 100_000 })),
    temperature: checked(() => checkTemperature(number("temperature"), { maxAbsTemperature: Number.MAX_VALUE })),
    maxTokens: checked(() => checkMaxTokens(number("maxTokens"), { maxTokensCap: Number.MAX_SAFE_INTEGER })),
    seed: checked(() => checkSeed(number("seed"))),
    ...(job.sweep !== undefined && { sweep: checked(() => sweepOf(job.sweep)) }),
    ...(job.schedule !== undefined && {
      schedule: checked(() =>
        checkSchedule(job.schedule as Schedule, {
          maxAbsTemperature: Number.MAX_VALUE,
          maxTokensCap: Number.MAX_SAFE_INTEGER,
        }),
      ),
    }),
    ...(job.vocab !== undefined && { vocab: checked(() => checkVocabulary(text("vocab"))) }),
    ...(job.model !== undefined && {
      model: MODEL_ID_PATTERN.test(text("model")) ? text("model") : fail("model must be a model id"),
    }),
    ...(job.source !== undefined && {
      source: MESSAGE_LINK.test(text("source")) ? text("source") : fail("source must be a message link"),
    }),
    ...(job.deadline !== undefined && { deadline: number("deadline") }),
    ...(job.layout !== undefined && { layout: job.layout === "cards" ? "cards" : fail("layout must be cards") }),
    ...(job.allowBytes !== undefined && {
      allowBytes: typeof job.allowBytes === "boolean" ? job.allowBytes : fail("allowBytes must be true or false"),
    }),
    ...(job.compare !== undefined && { compare: comparisonPartOf(job.compare) ?? fail("compare must name a part") }),
  };
}

/** A payload's comparison part, if it names one well (read on its own too, for a failed job). */
export function comparisonPartOf(value: unknown): ComparisonPartRef | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { id, part, of } = value as Record<string, unknown>;
  if (typeof id !== "string" || !/^[\w-]{1,40}$/.test(id)) return undefined;
  if (!Number.isInteger(of) || (of as number) < 2 || (of as number) > MAX_COMPARISON_PARTS) return undefined;
  if (!Number.isInteger(part) || (part as number) < 0 || (part as number) >= (of as number)) return undefined;
  return { id, part: part as number, of: of as number };
}

/** Validates a score job's payload, as parseJob does a generation's. */
export function parseScoreJob(data: unknown): ScoreJob {
  if (typeof data !== "object" || data === null) fail("the payload is not an object");
  const job = data as Record<string, unknown>;
  const text = (key: string) => (typeof job[key] === "string" ? job[key] : fail(`${key} must be a string`));
  const id = (key: string) => (isDiscordId(text(key)) ? text(key) : fail(`${key} must be a Discord id`));
  if (typeof job.interactionAt !== "number") fail("interactionAt must be a number");
  if (text("text").trim() === "") fail("text is empty");
  return {
    applicationId: id("applicationId"),
    interactionToken: text("interactionToken"),
    interactionAt: job.interactionAt,
    guildId: job.guildId === null ? null : id("guildId"),
    userId: id("userId"),
    text: text("text"),
  };
}

function sweepOf(value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_SWEEP_ROWS)
    throw new Error(`sweep must list 1 to ${MAX_SWEEP_ROWS} temperatures`);
  return value.map(t => checkTemperature(t as number, { maxAbsTemperature: Number.MAX_VALUE }));
}

/**
 * Whatever can be read of a payload that failed validation: enough to tell the member and
 * to find the reply, without trusting the rest.
 */
export function readDelivery(data: unknown): Partial<WeirdJob> {
  if (typeof data !== "object" || data === null) return {};
  const job = data as Record<string, unknown>;
  const delivery: Partial<WeirdJob> = {};
  for (const key of ["applicationId", "channelId", "userId", "guildId"] as const) {
    const value = job[key];
    if (isDiscordId(value)) delivery[key] = value;
  }
  if (typeof job.interactionToken === "string" && job.interactionToken !== "")
    delivery.interactionToken = job.interactionToken;
  if (typeof job.interactionAt === "number" && Number.isFinite(job.interactionAt))
    delivery.interactionAt = job.interactionAt;
  if (typeof job.temperature === "number" && Number.isFinite(job.temperature)) delivery.temperature = job.temperature;
  // Unreadable, a deadline must still rule out the channel: a post there would fail anyway.
  if (job.deadline !== undefined) delivery.deadline = typeof job.deadline === "number" ? job.deadline : 0;
  // A reply that may have become a card can only be edited as one.
  if (job.layout === "cards") delivery.layout = "cards";
  return delivery;
}
