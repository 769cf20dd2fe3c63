// The community game's Redis scripts. Each runs atomically, so concurrent votes, saves and
// reads on several bot processes never see (or leave) a half-updated ranking.
//
// Keys, rank ids and scores come from the schema (keys.ts, LUA_SCHEMA), generated into COMMON.
//
// Periods are rolling windows. An output is in a period's boards while it is younger than
// the window; `trim` takes out what aged out since the last trim (its cutoff is kept per
// period), so each output leaves each board once: O(log n) per output and period, paid by
// whichever save or read comes next (at most 500 per period and call).
import { LUA_SCHEMA, MEMBER_OUTPUTS_KEPT } from "./keys.js";

const COMMON =
  `
local P = ARGV[1]
` +
  LUA_SCHEMA +
  `
-- The boards an output is ranked on in a period: the server's, its author's, and its model's.
local function boardsOf(g, author, model, period, by)
  local keys = {board(g, false, period, by), board(g, author, period, by)}
  if model then keys[3] = modelBoard(g, model, period, by) end
  return keys
end

local function setScores(g, author, model, period, rankId, votes, w, flag)
  local byVotes, byWeird = scores(votes, w)
  local function set(by, score)
    for _, key in ipairs(boardsOf(g, author, model, period, by)) do
      if flag then redis.call("ZADD", key, flag, score, rankId) else redis.call("ZADD", key, score, rankId) end
    end
  end
  set("votes", byVotes)
  if byWeird then set("weirdness", byWeird) end
end

-- Takes the output off its model's boards (the server's few models are each asked: the rank
-- id does not name its model, and a ZREM of a non-member costs O(log n)). Leaving the
-- retention, it leaves the model's index too, and a model with nothing left is forgotten.
local function dropFromModels(g, period, rankId)
  local totals = totalsKey(g)
  for _, m in ipairs(redis.call("SMEMBERS", modelsKey(g))) do
    local score = redis.call("ZSCORE", modelBoard(g, m, period, "votes"), rankId)
    if score then
      redis.call("ZREM", modelBoard(g, m, period, "votes"), rankId)
      redis.call("ZREM", modelBoard(g, m, period, "weirdness"), rankId)
      local votes = math.floor(tonumber(score) / VOTE_UNIT)
      if period == "all" and votes > 0 then redis.call("HINCRBY", totals, "votes@" .. m, -votes) end
    end
    if period == "all" and redis.call("ZREM", modelTempsKey(g, m), rankId) == 1
      and redis.call("ZCARD", modelTempsKey(g, m)) == 0 then
      redis.call("SREM", modelsKey(g), m)
      redis.call("DEL", modelPlayersKey(g, m))
      redis.call("HDEL", totals, "votes@" .. m)
    end
  end
end

local function drop(g, period, rankId)
  local author = authorOf(rankId)
  local totals = totalsKey(g)
  local score = redis.call("ZSCORE", board(g, false, period, "votes"), rankId)
  if score then
    local votes = math.floor(tonumber(score) / VOTE_UNIT)
    for _, member in ipairs({false, author}) do
      redis.call("ZREM", board(g, member, period, "votes"), rankId)
      redis.call("ZREM", board(g, member, period, "weirdness"), rankId)
    end
    local left = redis.call("ZINCRBY", membersKey(g, period), -(votes * MADE_UNIT + 1), author)
    if tonumber(left) <= 0 then redis.call("ZREM", membersKey(g, period), author) end
    -- Not "-votes" for none: Lua's -0 reaches Redis as "-0", which HINCRBY refuses.
    if period == "all" and votes > 0 then redis.call("HINCRBY", totals, "votes", -votes) end
  end
  dropFromModels(g, period, rankId)
  if period == "all" then
    redis.call("ZREM", madeKey(g), rankId)
    redis.call("ZREM", tempsKey(g), rankId)
    local id = outputOf(rankId)
    redis.call("DEL", outputKey(id), votesKey(id))
  end
end

-- windows: milliseconds for day, week, month, all (all = the retention), shortest first.
-- At most TRIM_BATCH outputs per period per call, so a read after a long quiet spell stays
-- short; the rest goes on the next calls. A longer window never trims past a shorter one's
-- progress, because "all" takes outputs out of the index the others read from.
local TRIM_BATCH = 500
local function trim(g, now, windows)
  local totals = totalsKey(g)
  local cutoffs = {}
  local bound
  for i, period in ipairs(PERIODS) do
    local cutoff = now - windows[i]
    if bound and bound < cutoff then cutoff = bound end
    local last = redis.call("HGET", totals, "trimmed:" .. period)
    if not last or cutoff > tonumber(last) then
      local aged = redis.call("ZRANGEBYSCORE", madeKey(g), last and ("(" .. last) or "-inf", cutoff,
        "WITHSCORES", "LIMIT", 0, TRIM_BATCH)
      for j = 1, #aged, 2 do drop(g, period, aged[j]) end
      if #aged == 2 * TRIM_BATCH then
        -- More to do: go on from just before the last one taken (dropping again is a no-op).
        local first, reached = tonumber(aged[2]), tonumber(aged[#aged])
        cutoff = reached > first and reached - 1 or reached
      end
      redis.call("HSET", totals, "trimmed:" .. period, cutoff)
      last = cutoff
    end
    cutoffs[i] = tonumber(last)
    bound = cutoffs[i]
  end
  redis.call("ZREMRANGEBYSCORE", playersKey(g), "-inf", now - windows[4])
  for _, m in ipairs(redis.call("SMEMBERS", modelsKey(g))) do
    redis.call("ZREMRANGEBYSCORE", modelPlayersKey(g, m), "-inf", now - windows[4])
  end
  return cutoffs
end
`;

/**
 * Saves an output record (expiring with the retention), keeps it on its author's own list
 * and, the first time, puts it on its server's boards. KEYS: record, vote set. ARGV: prefix, json, expireAt, guildId ("" in
 * DMs), authorId, createdAt, temperature, now, 4 windows. The rank id and weirdness come
 * from the record itself.
 */
export const SAVE_OUTPUT =
  COMMON +
  `
local json, expireAt, g, author = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local createdAt, temperature, now = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local windows = {tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])}
local output = cjson.decode(json)
local rankId, w, model = rankIdOf(output), weirdnessOf(output), modelOf(output)
redis.call("SET", KEYS[1], json, "PXAT", expireAt)
redis.call("PEXPIREAT", KEYS[2], expireAt) -- votes cast before the record had the retention
-- The author's own list, from every server and DM: what the retention keeps, the newest few hundred.
local mine = memberOutputsKey(author)
redis.call("ZADD", mine, createdAt, output.id)
redis.call("ZREMRANGEBYSCORE", mine, "-inf", now - windows[4])
redis.call("ZREMRANGEBYRANK", mine, 0, -${MEMBER_OUTPUTS_KEPT + 1})
local newest = redis.call("ZREVRANGE", mine, 0, 0, "WITHSCORES")
if newest[2] then redis.call("PEXPIREAT", mine, tonumber(newest[2]) + windows[4]) end
if g == "" then return 0 end
local cutoffs = trim(g, now, windows)
-- Saved again (with its message id, or by a retried job): on the boards already.
if redis.call("ZSCORE", madeKey(g), rankId) or createdAt <= cutoffs[4] then return 0 end
redis.call("ZADD", madeKey(g), createdAt, rankId)
redis.call("ZADD", tempsKey(g), temperature, rankId)
redis.call("ZADD", playersKey(g), "GT", createdAt, author)
local votes = redis.call("SCARD", KEYS[2])
if model then
  redis.call("SADD", modelsKey(g), model)
  redis.call("ZADD", modelTempsKey(g, model), temperature, rankId)
  redis.call("ZADD", modelPlayersKey(g, model), "GT", createdAt, author)
  redis.call("HINCRBY", totalsKey(g), "votes@" .. model, votes)
end
for i, period in ipairs(PERIODS) do
  if createdAt > cutoffs[i] then
    setScores(g, author, model, period, rankId, votes, w, nil)
    redis.call("ZINCRBY", membersKey(g, period), votes * MADE_UNIT + 1, author)
  end
end
redis.call("HINCRBY", totalsKey(g), "votes", votes)
return 1
`;

/** How long a vote click is remembered, for a retry of a click that got no answer. */
export const CLICK_MEMORY_MS = 10 * 60_000;

/**
 * Adds the member's vote, or takes it back. KEYS: record, vote set, the member's last click
 * on this output. ARGV: prefix, memberId, selfVotes ("1" allowed), now, this click's id ("" for
 * none), the id of an unanswered earlier click this one retries ("" for none). Returns {code,
 * count, voted}: code 0 done (or the retried click had run: nothing changes), 1 no record
 * (expired), 2 a self-vote refused (taking back an earlier one is always allowed); count is
 * the votes now, voted 1 when the member's vote is in now (OutputStore.toggleVote reads them).
 */
export const TOGGLE_VOTE =
  COMMON +
  `
local voter, selfVotes, now, click, unsure = ARGV[2], ARGV[3] == "1", tonumber(ARGV[4]), ARGV[5], ARGV[6]
local raw = redis.call("GET", KEYS[1])
if not raw then return {1, 0, 0} end
local output = cjson.decode(raw)
-- A retry of a click that got no answer: if that click did run, the state is already what
-- the member asked for.
if unsure ~= "" and redis.call("GET", KEYS[3]) == unsure then
  return {0, redis.call("SCARD", KEYS[2]), redis.call("SISMEMBER", KEYS[2], voter)}
end
if not selfVotes and output.authorId == voter and redis.call("SISMEMBER", KEYS[2], voter) == 0 then
  return {2, redis.call("SCARD", KEYS[2]), 0}
end
local added = redis.call("SADD", KEYS[2], voter)
if added == 0 then redis.call("SREM", KEYS[2], voter) end
if click ~= "" then redis.call("SET", KEYS[3], click, "PX", ${CLICK_MEMORY_MS}) end
local ttl = redis.call("PTTL", KEYS[1])
if ttl > 0 then redis.call("PEXPIRE", KEYS[2], ttl) end
local count = redis.call("SCARD", KEYS[2])
local g = output.guildId
if type(g) ~= "string" then return {0, count, added} end
local delta = added == 1 and 1 or -1
local rankId, w = rankIdOf(output), weirdnessOf(output)
-- Its model's boards only if it is on them (an output made before models were indexed is not).
local model = modelOf(output)
if model and not redis.call("ZSCORE", modelTempsKey(g, model), rankId) then model = nil end
for _, period in ipairs(PERIODS) do
  -- On a period's board while in its window (not yet trimmed): update it there.
  if redis.call("ZSCORE", board(g, false, period, "votes"), rankId) then
    setScores(g, output.authorId, model, period, rankId, count, w, "XX")
    redis.call("ZINCRBY", membersKey(g, period), delta * MADE_UNIT, output.authorId)
    if period == "all" then
      redis.call("HINCRBY", totalsKey(g), "votes", delta)
      if model then redis.call("HINCRBY", totalsKey(g), "votes@" .. model, delta) end
    end
  end
end
if added == 1 then
  redis.call("ZADD", playersKey(g), "GT", now, voter)
  if model then redis.call("ZADD", modelPlayersKey(g, model), "GT", now, voter) end
end
return {0, count, added}
`;

/** A board's top entries. KEYS: the board. ARGV: prefix, guildId, now, 4 windows, limit. */
export const READ_BOARD =
  COMMON +
  `
local g, now = ARGV[2], tonumber(ARGV[3])
trim(g, now, {tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])})
return redis.call("ZREVRANGE", KEYS[1], 0, tonumber(ARGV[8]) - 1, "WITHSCORES")
`;

/**
 * The server's stats over what has not expired, or one model's outputs' (ARGV[8], "" for all).
 * ARGV: prefix, guildId, now, 4 windows, model. Returns outputs, votes, players, coldest
 * {rankId, T}, hottest, most voted {rankId, score}, below, near (|T| < 0.01), above.
 */
export const READ_STATS =
  COMMON +
  `
local g, now, m = ARGV[2], tonumber(ARGV[3]), ARGV[8]
trim(g, now, {tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])})
local temps, players, votes, top = tempsKey(g), playersKey(g), "votes", board(g, false, "all", "votes")
if m ~= "" then
  temps, players, votes, top = modelTempsKey(g, m), modelPlayersKey(g, m), "votes@" .. m, modelBoard(g, m, "all", "votes")
end
return {
  redis.call("ZCARD", temps),
  tonumber(redis.call("HGET", totalsKey(g), votes) or "0"),
  redis.call("ZCARD", players),
  redis.call("ZRANGE", temps, 0, 0, "WITHSCORES"),
  redis.call("ZREVRANGE", temps, 0, 0, "WITHSCORES"),
  redis.call("ZREVRANGE", top, 0, 0, "WITHSCORES"),
  redis.call("ZCOUNT", temps, "-inf", "(0"),
  redis.call("ZCOUNT", temps, "(-0.01", "(0.01"),
  redis.call("ZCOUNT", temps, "(0", "+inf"),
}
`;

/**
 * Claims an output's hall-of-fame post, once and for good, if it has enough votes.
 * KEYS: hall entry, vote set, pending claims. ARGV: threshold, now, nonce, guildId, channelId, outputId.
 * Returns 1 claimed (the caller posts), 0 claimed before, −1 not enough votes.
 */
export const CLAIM_HALL = `
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
if redis.call("SCARD", KEYS[2]) < tonumber(ARGV[1]) then return -1 end
redis.call("HSET", KEYS[1], "state", "claimed", "claimedAt", ARGV[2], "nonce", ARGV[3], "guildId", ARGV[4], "channelId", ARGV[5])
redis.call("ZADD", KEYS[3], ARGV[2], ARGV[6])
return 1
`;

/**
 * Takes over a claim whose post was never recorded (its process died). KEYS: hall entry.
 * ARGV: now, lease. Returns 1 if the caller should post again (with the same nonce).
 */
export const RECLAIM_HALL = `
if redis.call("HGET", KEYS[1], "state") ~= "claimed" then return 0 end
if tonumber(redis.call("HGET", KEYS[1], "claimedAt")) > tonumber(ARGV[1]) - tonumber(ARGV[2]) then return 0 end
redis.call("HSET", KEYS[1], "claimedAt", ARGV[1])
return 1
`;

/** Records the post of a claimed entry. KEYS: hall entry, pending claims. ARGV: messageId, outputId. */
export const RECORD_HALL = `
if redis.call("HGET", KEYS[1], "state") ~= "claimed" then return 0 end
redis.call("HSET", KEYS[1], "state", "posted", "messageId", ARGV[1])
redis.call("ZREM", KEYS[2], ARGV[2])
return 1
`;

/** Gives a claim back after a post that cannot succeed. KEYS: hall entry, pending claims. ARGV: outputId. */
export const RELEASE_HALL = `
if redis.call("HGET", KEYS[1], "state") ~= "claimed" then return 0 end
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[1])
return 1
`;
