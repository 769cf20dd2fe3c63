// What a generation asks for, and the checks that turn user input into a valid request.
import { randomInt } from "node:crypto";
import type { TokenPolicy } from "./policy.js";
import { checkSchedule, namedTemperatures, type Schedule } from "./schedule.js";
import { DEFAULT_VOCABULARY, isVocabulary, VOCABULARIES, type Vocabulary } from "./vocabulary.js";

export interface GenerationInput {
  prompt: string;
  /**
   * Any finite number within the configured bound; below zero samples the least likely tokens.
   * With a schedule, the schedule's first temperature (the engine sets it so).
   */
  temperature: number;
  /** A temperature per token instead of one (schedule.ts). */
  schedule?: Schedule;
  maxTokens: number;
  /** Chosen by the caller so a retry reproduces the text; random when left out. */
  seed?: number;
  tokenPolicy?: Partial<TokenPolicy>;
  /** Which tokens may be sampled by the script they spell (see vocabulary.ts). Defaults to "any". */
  vocab?: Vocabulary;
}

export interface GenerationRequest extends Required<Omit<GenerationInput, "tokenPolicy" | "schedule">> {
  tokenPolicy: TokenPolicy;
  schedule?: Schedule;
}

export interface RequestLimits {
  /** Largest |T| accepted; beyond about 100 sampling is practically uniform anyway. */
  maxAbsTemperature: number;
  maxTokensCap: number;
  maxPromptCharacters: number;
}

/** Smallest non-zero |T|: below it llama.cpp's float32 division z/T overflows to infinity. */
export const MIN_ABS_TEMPERATURE = 1e-6;
export const MAX_SEED = 2 ** 32 - 1;

export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidRequestError";
  }
}

/** β = 1/T, the inverse temperature; infinite at T = 0 (greedy). */
export function betaOf(temperature: number): number {
  return temperature === 0 ? Infinity : 1 / temperature;
}

/** β for people: six significant digits, ∞ at T = 0. */
export function formatBeta(temperature: number): string {
  const beta = betaOf(temperature);
  return Number.isFinite(beta) ? String(Number(beta.toPrecision(6))) : "∞";
}

/** The same temperature on the other side of zero (greedy stays greedy). */
export function flipSign(temperature: number): number {
  return temperature === 0 ? 0 : -temperature;
}

export function checkTemperature(temperature: number, limits: Pick<RequestLimits, "maxAbsTemperature">): number {
  if (typeof temperature !== "number" || !Number.isFinite(temperature)) {
    throw new InvalidRequestError(`Temperature must be a finite number, got ${String(temperature)}.`);
  }
  const magnitude = Math.abs(temperature);
  if (magnitude > limits.maxAbsTemperature) {
    throw new InvalidRequestError(
      `Temperature must be between -${limits.maxAbsTemperature} and ${limits.maxAbsTemperature}, got ${temperature}.`,
    );
  }
  if (magnitude !== 0 && magnitude < MIN_ABS_TEMPERATURE) {
    throw new InvalidRequestError(
      `Temperature must be 0 or at least ${MIN_ABS_TEMPERATURE} away from it, got ${temperature}.`,
    );
  }
  return temperature === 0 ? 0 : temperature; // −0 is plain greedy
}

export function checkMaxTokens(maxTokens: number, limits: Pick<RequestLimits, "maxTokensCap">): number {
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > limits.maxTokensCap) {
    throw new InvalidRequestError(
      `Max tokens must be a whole number from 1 to ${limits.maxTokensCap}, got ${String(maxTokens)}.`,
    );
  }
  return maxTokens;
}

/** Chosen when a request is made, so a retried job reproduces the same text. */
export function randomSeed(): number {
  return randomInt(MAX_SEED + 1);
}

export function checkSeed(seed: number | undefined): number {
  if (seed === undefined) return randomSeed();
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new InvalidRequestError(`Seed must be a whole number from 0 to ${MAX_SEED}, got ${String(seed)}.`);
  }
  return seed;
}

export function checkPrompt(prompt: string, limits: Pick<RequestLimits, "maxPromptCharacters">): string {
  if (typeof prompt !== "string" || prompt.trim() === "") throw new InvalidRequestError("The prompt is empty.");
  if (prompt.length > limits.maxPromptCharacters) {
    throw new InvalidRequestError(
      `The prompt is ${prompt.length} characters long; the limit is ${limits.maxPromptCharacters}.`,
    );
  }
  return prompt;
}

export function checkVocabulary(vocab: string | undefined): Vocabulary {
  if (vocab === undefined) return DEFAULT_VOCABULARY;
  if (!isVocabulary(vocab)) {
    throw new InvalidRequestError(`Vocabulary must be one of ${VOCABULARIES.join(", ")}, got "${vocab}".`);
  }
  return vocab;
}

export function checkRequest(
  input: GenerationInput,
  limits: RequestLimits,
  defaultPolicy: TokenPolicy,
): GenerationRequest {
  const schedule = input.schedule && checkSchedule(input.schedule, limits);
  return {
    prompt: checkPrompt(input.prompt, limits),
    temperature: schedule ? namedTemperatures(schedule)[0]! : checkTemperature(input.temperature, limits),
    ...(schedule && { schedule }),
    maxTokens: checkMaxTokens(input.maxTokens, limits),
    seed: checkSeed(input.seed),
    tokenPolicy: { ...defaultPolicy, ...input.tokenPolicy },
    vocab: checkVocabulary(input.vocab),
  };
}
