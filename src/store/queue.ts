// The generation queue: its name, what a job carries, and the checks a worker applies
// before trusting a payload.
import { checkMaxTokens, checkPrompt, checkSeed, checkTemperature } from "../engine/request.js";

export const QUEUE_NAME = "weird";

export interface WeirdJob {
  /** Where the reply goes: the deferred interaction reply while its token lives, else the channel. */
  applicationId: string;
  interactionToken: string;
  /** When the interaction arrived (ms since epoch); its token lives 15 minutes from then. */
  interactionAt: number;
  guildId: string | null;
  channelId: string;
  userId: string;
  prompt: string;
  temperature: number;
  maxTokens: number;
  seed: number;
}

const SNOWFLAKE = /^\d{1,22}$/;

function fail(reason: string): never {
  throw new Error(`Malformed job: ${reason}`);
}

/** Validates a job payload from Redis; anything else fails the job with a clear reason. */
export function parseJob(data: unknown): WeirdJob {
  if (typeof data !== "object" || data === null) fail("the payload is not an object");
  const job = data as Record<string, unknown>;
  const text = (key: string) => (typeof job[key] === "string" ? job[key] : fail(`${key} must be a string`));
  const id = (key: string) => (SNOWFLAKE.test(text(key)) ? text(key) : fail(`${key} must be a Discord id`));
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
  };
}
