// Temperature schedules: a temperature for each generated token instead of one for the reply.
//   A..B    annealed from T = A at the first token to T = B at the last, linear in β = 1/T
//           (1..-1 passes through β = 0, uniform, half way; 1..0.001 cools to greedy)
//   A/B@N   every Nth token (N, 2N, …) at T = B, the others at T = A
// No native import: the bot parses and shows schedules without loading node-llama-cpp.
import { checkTemperature, InvalidRequestError, type RequestLimits } from "./request.js";

export type Schedule =
  { kind: "anneal"; from: number; to: number } | { kind: "every"; base: number; accent: number; every: number };

export const SCHEDULE_GRAMMAR =
  "A..B (annealed from T = A to T = B, linear in β = 1/T) or A/B@N (every Nth token at T = B, the others at T = A)";

const NUMBER = String.raw`\s*([+\-−]?(?:\d+(?:\.\d+)?|\.\d+)(?:e[+\-−]?\d+)?)\s*`;
const ANNEAL = new RegExp(`^${NUMBER}\\.\\.${NUMBER}$`, "i");
const EVERY = new RegExp(`^${NUMBER}/${NUMBER}@\\s*(\\d+)\\s*$`, "i");

const toNumber = (text: string) => Number(text.replace(/−/g, "-"));

/** Whether a temperature option's text is a schedule rather than one number. */
export function looksLikeSchedule(text: string): boolean {
  return text.includes("..") || text.includes("/") || text.includes("@");
}

/** Parses and checks a schedule against the limits; the error names the grammar. */
export function parseSchedule(
  text: string,
  limits: Pick<RequestLimits, "maxAbsTemperature" | "maxTokensCap">,
): Schedule {
  const checked = (value: string, which: string) => {
    try {
      return checkTemperature(toNumber(value), limits);
    } catch (error) {
      throw new InvalidRequestError(`${which} of the schedule: ${(error as Error).message}`);
    }
  };
  const anneal = ANNEAL.exec(text);
  if (anneal) {
    const from = checked(anneal[1]!, "The start");
    const to = checked(anneal[2]!, "The end");
    if (from === 0 || to === 0)
      throw new InvalidRequestError(
        `An annealed schedule cannot start or end at T = 0 (β would be infinite): use 0.001 for greedy, as in 1..0.001.`,
      );
    return { kind: "anneal", from, to };
  }
  const every = EVERY.exec(text);
  if (every) {
    const base = checked(every[1]!, "The base temperature");
    const accent = checked(every[2]!, "The every-Nth temperature");
    const n = Number(every[3]);
    if (!Number.isInteger(n) || n < 2 || n > limits.maxTokensCap)
      throw new InvalidRequestError(
        `N in A/B@N must be a whole number from 2 to ${limits.maxTokensCap}, got ${every[3]}.`,
      );
    return { kind: "every", base, accent, every: n };
  }
  throw new InvalidRequestError(
    `"${text.trim()}" is not a schedule. Write ${SCHEDULE_GRAMMAR}, e.g. 1..-1 or 0.8/-0.001@4.`,
  );
}

/** Checks a schedule that arrives as data (a job payload) exactly as one typed in. */
export function checkSchedule(
  schedule: Schedule,
  limits: Pick<RequestLimits, "maxAbsTemperature" | "maxTokensCap">,
): Schedule {
  if (typeof schedule !== "object" || schedule === null || (schedule.kind !== "anneal" && schedule.kind !== "every"))
    throw new InvalidRequestError(`Not a schedule: ${JSON.stringify(schedule)}.`);
  return parseSchedule(formatSchedule(schedule), limits);
}

/** The schedule as it is written: parseSchedule(formatSchedule(s)) is s. */
export function formatSchedule(schedule: Schedule): string {
  return schedule.kind === "anneal"
    ? `${schedule.from}..${schedule.to}`
    : `${schedule.base}/${schedule.accent}@${schedule.every}`;
}

/** The temperatures a schedule names outright (its ends, or its two values): what a server's range must allow. */
export function namedTemperatures(schedule: Schedule): number[] {
  return schedule.kind === "anneal" ? [schedule.from, schedule.to] : [schedule.base, schedule.accent];
}

/**
 * The temperature of each of `count` generated tokens. An anneal passes β = 0 only where its
 * ends have opposite signs; there |T| is held at the limit (practically uniform), never infinite.
 */
export function temperaturesOf(
  schedule: Schedule,
  count: number,
  limits: Pick<RequestLimits, "maxAbsTemperature">,
): number[] {
  if (schedule.kind === "every")
    return Array.from({ length: count }, (_, i) => ((i + 1) % schedule.every === 0 ? schedule.accent : schedule.base));
  const [start, end] = [1 / schedule.from, 1 / schedule.to];
  return Array.from({ length: count }, (_, i) => {
    const beta = count === 1 ? start : start + ((end - start) * i) / (count - 1);
    const limit = limits.maxAbsTemperature;
    if (Math.abs(beta) <= 1 / limit) return beta < 0 ? -limit : limit;
    return 1 / beta;
  });
}

/** Where the temperatures change sign, as token positions (1-based), for showing on a result. */
export function zeroCrossings(temperatures: readonly number[]): number[] {
  const crossings: number[] = [];
  for (let i = 1; i < temperatures.length; i++)
    if (temperatures[i]! < 0 !== temperatures[i - 1]! < 0) crossings.push(i + 1);
  return crossings;
}

/** The same schedule on the other side of zero (greedy stays greedy). */
export function flipSchedule(schedule: Schedule): Schedule {
  const flip = (t: number) => (t === 0 ? 0 : -t);
  return schedule.kind === "anneal"
    ? { kind: "anneal", from: flip(schedule.from), to: flip(schedule.to) }
    : { ...schedule, base: flip(schedule.base), accent: flip(schedule.accent) };
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}

const shown = (value: number) => String(Number(value.toPrecision(6))).replace("-", "−");
const betaShown = (t: number) => (t === 0 ? "∞" : shown(1 / t));

/** A schedule for people, with β and where it crosses zero over `tokens` tokens. */
export function describeSchedule(schedule: Schedule, tokens: number): string {
  if (schedule.kind === "every")
    return `T = ${shown(schedule.base)}, every ${ordinal(schedule.every)} token T = ${shown(schedule.accent)} (β = ${betaShown(schedule.base)} / ${betaShown(schedule.accent)})`;
  const crossing = zeroCrossings(temperaturesOf(schedule, tokens, { maxAbsTemperature: Number.MAX_VALUE }))[0];
  return `T = ${shown(schedule.from)} → ${shown(schedule.to)} (β = ${betaShown(schedule.from)} → ${betaShown(schedule.to)}${crossing ? `, crosses zero at token ${crossing}` : ""})`;
}
