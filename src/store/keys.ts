// The Redis schema: every key belowzero writes is built here, and so is the encoding of the
// boards' rank ids and scores. The Lua scripts get their key builders and encoders generated
// from this file (LUA_SCHEMA), so TypeScript and Lua cannot drift apart. ARCHITECTURE.md lists
// every key with its type, lifetime and writer.
//
// Every key starts with the prefix (REDIS_PREFIX), which holds a {hash tag}: on a Redis
// Cluster all of them, BullMQ's included, hash to one slot, so multi-key scripts work, and keys
// a script builds itself (a member's boards, an expired output's record) stay in that slot.

export type Period = "day" | "week" | "month" | "all";
export const PERIODS: readonly Period[] = ["day", "week", "month", "all"];
export type RankedBy = "votes" | "weirdness";

/** How many of a member's newest outputs their own list (memberOutputs) keeps, within the retention. */
export const MEMBER_OUTPUTS_KEPT = 500;

/** The generation queue's BullMQ name: its keys are `<prefix>:weird:…`, written by BullMQ. */
export const QUEUE_NAME = "weird";

/**
 * The queue a model's workers take jobs from: the shared queue for a worker with no MODEL_ID
 * (one-model deployments need nothing more), else a queue of its own, `weird-<id>`.
 */
export function modelQueueName(alias: string | undefined): string {
  return alias === undefined ? QUEUE_NAME : `${QUEUE_NAME}-${alias}`;
}

/** Every key of one deployment, by what it holds. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  // Outputs and votes (OutputStore)
  output(outputId: string): string {
    return `${this.prefix}:output:${outputId}`;
  }
  votes(outputId: string): string {
    return `${this.prefix}:votes:${outputId}`;
  }
  voteClick(outputId: string, memberId: string): string {
    return `${this.prefix}:vote-click:${outputId}:${memberId}`;
  }
  /** A member's own outputs, everywhere (/weird-mine): zset, output id → createdAt. */
  memberOutputs(memberId: string): string {
    return `${this.prefix}:member:${memberId}:outputs`;
  }
  /** A SCAN pattern for every output record (glob-escaped: the prefix's braces are literal). */
  get outputPattern(): string {
    return `${globEscape(this.prefix)}:output:*`;
  }

  // A server's boards and stats (kept by the scripts of communityScripts.ts)
  guild(guildId: string, rest: string): string {
    return `${this.prefix}:guild:${guildId}:${rest}`;
  }
  /** Rank ids by createdAt: every output of the server still on record. */
  made(guildId: string): string {
    return this.guild(guildId, "made");
  }
  /** Rank ids by temperature. */
  temps(guildId: string): string {
    return this.guild(guildId, "temps");
  }
  /** Members by the last time they made or voted. */
  players(guildId: string): string {
    return this.guild(guildId, "players");
  }
  /** The vote total and each period's trim cutoff. */
  totals(guildId: string): string {
    return this.guild(guildId, "totals");
  }
  /** A top board: the server's, or one member's outputs only. */
  board(guildId: string, period: Period, by: RankedBy, memberId?: string): string {
    const scope = memberId ? `member:${memberId}:` : "";
    return this.guild(guildId, `${scope}top:${period}:${by}`);
  }
  /** The ids of the models the server's outputs on record were made with. */
  guildModels(guildId: string): string {
    return this.guild(guildId, "models");
  }
  /** One model's outputs: its top boards, its rank ids by temperature, its players. */
  modelBoard(guildId: string, modelId: string, period: Period, by: RankedBy): string {
    return this.guild(guildId, `model:${modelId}:top:${period}:${by}`);
  }
  modelTemps(guildId: string, modelId: string): string {
    return this.guild(guildId, `model:${modelId}:temps`);
  }
  modelPlayers(guildId: string, modelId: string): string {
    return this.guild(guildId, `model:${modelId}:players`);
  }
  /** Members by votes received, then outputs made. */
  members(guildId: string, period: Period): string {
    return this.guild(guildId, `members:${period}`);
  }

  // Hall of fame (CommunityStore)
  hall(outputId: string): string {
    return `${this.prefix}:hall:${outputId}`;
  }
  get hallPending(): string {
    return `${this.prefix}:hall-pending`;
  }
  hallProblem(guildId: string): string {
    return `${this.prefix}:hall-problem:${guildId}`;
  }

  // Cooldowns and queue places (Throttle)
  /** Per member and server; in direct messages per member alone. */
  cooldown(guildId: string | null, userId: string): string {
    return `${this.prefix}:cooldown:${guildId ?? "dm"}:${userId}`;
  }
  /** A server's queued and running jobs; in direct messages per member, so DM users do not share one. */
  pending(guildId: string | null, userId: string): string {
    return `${this.prefix}:pending:${guildId ?? `dm-${userId}`}`;
  }
  /** "How weird is this?" has a cooldown of its own, so a score never holds back a generation. */
  scoreCooldown(guildId: string | null, userId: string): string {
    return `${this.prefix}:score-cooldown:${guildId ?? "dm"}:${userId}`;
  }
  get pendingAll(): string {
    return `${this.prefix}:pending-all`;
  }
  place(jobId: string): string {
    return `${this.prefix}:place:${jobId}`;
  }

  // The live models (ModelRegistry)
  /** Hash, worker id → what it serves and until when it counts as alive (JSON). */
  get workers(): string {
    return `${this.prefix}:workers`;
  }
  /** Taken by the one bot process that tells an orphaned job's member (ModelRegistry.claimOrphan). */
  orphanTold(jobId: string): string {
    return `${this.prefix}:orphan-told:${jobId}`;
  }

  // Side-by-side comparisons (ComparisonStore)
  /** Hash: the request, its parts, each part's state and a version bumped by every change. */
  comparison(comparisonId: string): string {
    return `${this.prefix}:compare:${comparisonId}`;
  }

  // Server settings (SettingsStore)
  settings(guildId: string): string {
    return `${this.prefix}:settings:${guildId}`;
  }
  settingsLog(guildId: string): string {
    return `${this.prefix}:settings-log:${guildId}`;
  }
}

export function globEscape(text: string): string {
  return text.replace(/[[\]*?\\]/g, "\\$&");
}

// Rank ids and scores. A ranked output is a "rank id", `<createdAt, 13 digits>:<authorId>:<outputId>`:
// zsets order equal scores by member, so ZREVRANGE puts the newer of two tied outputs first,
// and a trim can find the author of an output whose record is already gone.
//
// Scores, exact integers below 2^53:
//   top:<period>:votes      votes · VOTE_UNIT + w       (more votes, then weirder, then newer)
//   top:<period>:weirdness  w · WEIRD_UNIT + votes      (weirder, then more votes, then newer)
//   members:<period>        votes · MADE_UNIT + outputs (more votes received, then more outputs)
// where w is the surprisal in nats/token, clamped to [0, MAX_SURPRISAL], times W_SCALE (1e-6
// resolution), and votes are clamped to WEIRD_UNIT − 1 in the scores (the exact count is the
// vote set's size). Only Lua encodes (LUA_SCHEMA); TypeScript only decodes.
export const VOTE_UNIT = 2 ** 32;
export const WEIRD_UNIT = 2 ** 21;
export const MADE_UNIT = 2 ** 20;
const W_SCALE = 2 ** 20;
const MAX_SURPRISAL = 4095;

export function parseRankId(rankId: string): { createdAt: number; authorId: string; outputId: string } {
  const [createdAt, authorId, ...id] = rankId.split(":");
  return { createdAt: Number(createdAt), authorId: authorId ?? "", outputId: id.join(":") };
}

/** The vote count a board's score holds. */
export function votesOfScore(score: number, by: RankedBy): number {
  return by === "votes" ? Math.floor(score / VOTE_UNIT) : score % WEIRD_UNIT;
}

export function memberOfScore(score: number): { votesReceived: number; outputsMade: number } {
  return { votesReceived: Math.floor(score / MADE_UNIT), outputsMade: score % MADE_UNIT };
}

// Lua's side, generated from the builders above: each key function of RedisKeys is called with
// placeholders, and the result becomes a Lua concatenation of its literal parts and arguments.
const MARK = "\u0000";
const marks = new RedisKeys(`${MARK}P${MARK}`);
function luaKey(build: (...args: string[]) => string, ...args: string[]): string {
  const text = build(...args.map(arg => `${MARK}${arg}${MARK}`));
  return text
    .split(MARK)
    .map((part, i) => (i % 2 === 1 ? part : part === "" ? undefined : JSON.stringify(part)))
    .filter(part => part !== undefined)
    .join(" .. ");
}

/**
 * The schema for Lua: key builders and the rank-id and score encoders. Expects `P`, the
 * prefix, as a local before it.
 */
export const LUA_SCHEMA = `
local PERIODS = {${PERIODS.map(period => JSON.stringify(period)).join(", ")}}
local VOTE_UNIT, WEIRD_UNIT, MADE_UNIT = ${VOTE_UNIT}, ${WEIRD_UNIT}, ${MADE_UNIT}
local function outputKey(id) return ${luaKey(id => marks.output(id), "id")} end
local function votesKey(id) return ${luaKey(id => marks.votes(id), "id")} end
local function madeKey(g) return ${luaKey(g => marks.made(g), "g")} end
local function tempsKey(g) return ${luaKey(g => marks.temps(g), "g")} end
local function playersKey(g) return ${luaKey(g => marks.players(g), "g")} end
local function totalsKey(g) return ${luaKey(g => marks.totals(g), "g")} end
local function memberOutputsKey(m) return ${luaKey(m => marks.memberOutputs(m), "m")} end
local function board(g, member, period, by)
  if member then return ${luaKey((g, p, b, m) => marks.board(g, p as Period, b as RankedBy, m), "g", "period", "by", "member")} end
  return ${luaKey((g, p, b) => marks.board(g, p as Period, b as RankedBy), "g", "period", "by")}
end
local function modelsKey(g) return ${luaKey(g => marks.guildModels(g), "g")} end
local function modelBoard(g, m, period, by)
  return ${luaKey((g, m, p, b) => marks.modelBoard(g, m, p as Period, b as RankedBy), "g", "m", "period", "by")}
end
local function modelTempsKey(g, m) return ${luaKey((g, m) => marks.modelTemps(g, m), "g", "m")} end
local function modelPlayersKey(g, m) return ${luaKey((g, m) => marks.modelPlayers(g, m), "g", "m")} end
-- The model id an output names (absent on outputs made before models were recorded)
local function modelOf(output)
  if type(output.modelId) == "string" and output.modelId ~= "" then return output.modelId end
  return nil
end
local function membersKey(g, period) return ${luaKey((g, p) => marks.members(g, p as Period), "g", "period")} end
local function authorOf(rankId) return string.match(rankId, "^%d+:(%d+):") end
local function outputOf(rankId) return string.match(rankId, "^%d+:%d+:(.+)$") end
local function rankIdOf(output)
  return string.format("%013d", output.createdAt) .. ":" .. output.authorId .. ":" .. output.id
end
-- −1: no weirdness on record (ranked last among equal votes, absent from the weirdness boards)
local function weirdnessOf(output)
  if type(output.surprisal) ~= "number" then return -1 end
  return math.floor(math.min(math.max(output.surprisal, 0), ${MAX_SURPRISAL}) * ${W_SCALE})
end
-- Both boards' scores for these votes and weirdness w (nil by weirdness when w < 0)
local function scores(votes, w)
  local v = math.min(votes, WEIRD_UNIT - 1)
  local byVotes = v * VOTE_UNIT + math.max(w, 0)
  if w < 0 then return byVotes, nil end
  return byVotes, w * WEIRD_UNIT + v
end
`;
