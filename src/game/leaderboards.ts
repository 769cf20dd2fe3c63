// The leaderboards' choices and what the member is told; the boards themselves are read by
// store/community.ts and rendered by discord/communityMessages.ts.
import { PERIODS, type Period, type RankedBy } from "../store/keys.js";

export const BOARDS_UNAVAILABLE =
  "The leaderboards are unavailable right now (cannot reach Redis). Please try again in a minute.";
export const SERVER_ONLY = "Leaderboards belong to a server: use this command in one.";
export const UNKNOWN_PERIOD = "Unknown period: choose day, week, month or all.";
export const UNKNOWN_RANKING = "Unknown ranking: choose votes or weirdness.";

export const PERIOD_CHOICES = [
  { name: "last 24 hours", value: "day" },
  { name: "last 7 days", value: "week" },
  { name: "last 30 days", value: "month" },
  { name: "all time (what is kept)", value: "all" },
] as const;

const RANKINGS: readonly RankedBy[] = ["votes", "weirdness"];

/** A period option, checked here too: Discord's choices are not enforced by every client or proxy. */
export function parsePeriod(value: string | null): Period | undefined {
  const period = value ?? "week";
  return (PERIODS as readonly string[]).includes(period) ? (period as Period) : undefined;
}

export function parseRanking(value: string | null): RankedBy | undefined {
  const by = value ?? "votes";
  return (RANKINGS as readonly string[]).includes(by) ? (by as RankedBy) : undefined;
}
