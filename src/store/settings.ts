// Per-server settings that admins manage with /weird-config. Precedence for a /weird request:
// the option the member typed > the server's setting > the operator's environment default.
// A server can only narrow the operator's limits, never widen them.
//
// Redis (keys.ts): one hash per server, a field per setting (named as the /weird-config
// subcommand) holding the server's own value as JSON; a missing field means the operator's
// default. Every change also goes to the server's settings log, a list (newest first) of
// { at, memberId, setting, old, new }. Nothing is cached: every request
// reads the hash, so a change is in effect at once for every bot process.
import type { Redis } from "ioredis";
import type { BotConfig } from "../config.js";
import { isDiscordId } from "../discordId.js";
import { MIN_ABS_TEMPERATURE } from "../engine/request.js";
import { DEFAULT_VOCABULARY, isVocabulary, VOCABULARIES, type Vocabulary } from "../engine/vocabulary.js";
import { MODEL_ID_PATTERN } from "./models.js";
import { RedisKeys } from "./keys.js";

/** A server's effective settings: its own where set, else the operator's defaults. */
export interface ServerSettings {
  temperature: { default: number; min: number; max: number };
  maxTokens: { default: number; max: number };
  cooldownSeconds: number;
  /** Where /weird and its buttons work: everywhere unless channels are allowed or denied. */
  channels: { allowed: string[]; denied: string[] };
  /** threshold 0: off. removeBelow null: a hall post is never taken down. */
  hallOfFame: { channelId: string | null; threshold: number; removeBelow: number | null };
  /** Whether authors may vote for their own outputs. */
  selfVotes: boolean;
  /** The token policy for this server's jobs (carried by the job to the worker). */
  allowBytes: boolean;
  /** The vocabulary a /weird samples from when the member names none (see engine/vocabulary.ts). */
  vocab: Vocabulary;
  /** How this server's results look: cards (Components V2) or plain messages (the job carries it). */
  layout: ResultLayout;
  /** The model a /weird uses when the member names none (null: the shared queue's, else the first live), and the models members may pick (empty: any). */
  model: ServerModels;
}

/** Results as cards (Components V2, discord/cards.ts) or plain messages: a server's choice. */
export type ResultLayout = "cards" | "plain";
export const RESULT_LAYOUTS: readonly ResultLayout[] = ["cards", "plain"];

export interface ServerModels {
  default: string | null;
  allowed: string[];
}

/** Most models on a server's allowed list (an autocomplete shows 25). */
export const MAX_ALLOWED_MODELS = 25;

/** What admins set, one /weird-config subcommand each, and the part of ServerSettings it sets. */
export const SETTING_FIELDS = {
  temperature: "temperature",
  tokens: "maxTokens",
  cooldown: "cooldownSeconds",
  channel: "channels",
  "hall-of-fame": "hallOfFame",
  votes: "selfVotes",
  policy: "allowBytes",
  vocab: "vocab",
  model: "model",
  layout: "layout",
} as const satisfies Record<string, keyof ServerSettings>;

export type SettingName = keyof typeof SETTING_FIELDS;
export const SETTING_NAMES = Object.keys(SETTING_FIELDS) as SettingName[];

/** A value for one setting, typed by the setting. */
export type SettingChange = {
  [S in SettingName]: { setting: S; value: ServerSettings[(typeof SETTING_FIELDS)[S]] };
}[SettingName];

/** The operator's limits, from the environment; a server's settings must stay inside them. */
export interface OperatorLimits {
  /** MAX_ABS_TEMPERATURE */
  maxAbsTemperature: number;
  /** MAX_TOKENS_CAP */
  maxTokensCap: number;
  /** COOLDOWN_SECONDS: a server may make its members wait longer, not shorter. */
  minCooldownSeconds: number;
}

/** Longest cooldown a server may set (a day), and most channels on one list. */
export const MAX_COOLDOWN_SECONDS = 86_400;
export const MAX_LISTED_CHANNELS = 50;
const MAX_THRESHOLD = 1_000_000;
const LOG_LENGTH = 200;

/** The operator's defaults and limits, from the bot's environment. */
export interface OperatorSettings {
  /** What a server gets for every setting it has not set. */
  defaults: ServerSettings;
  limits: OperatorLimits;
}

export function operatorSettings(
  config: Pick<BotConfig, "defaults" | "limits" | "queue" | "allowBytes" | "layout">,
): OperatorSettings {
  const { defaults, limits, queue } = config;
  const cooldownSeconds = queue.cooldownMs / 1000;
  return {
    defaults: {
      temperature: { default: defaults.temperature, min: -limits.maxAbsTemperature, max: limits.maxAbsTemperature },
      maxTokens: { default: defaults.maxTokens, max: limits.maxTokensCap },
      cooldownSeconds,
      channels: { allowed: [], denied: [] },
      hallOfFame: { channelId: null, threshold: 0, removeBelow: null },
      selfVotes: false,
      allowBytes: config.allowBytes,
      vocab: DEFAULT_VOCABULARY,
      model: { default: null, allowed: [] },
      layout: config.layout,
    },
    limits: {
      maxAbsTemperature: limits.maxAbsTemperature,
      maxTokensCap: limits.maxTokensCap,
      minCooldownSeconds: cooldownSeconds,
    },
  };
}

export class InvalidSettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSettingError";
  }
}

const isInteger = (value: unknown): value is number => Number.isInteger(value);
const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** Why this value cannot be a server's setting, or undefined when it can. Messages are for admins. */
export function settingProblem(change: SettingChange, limits: OperatorLimits): string | undefined {
  switch (change.setting) {
    case "temperature": {
      const { default: t, min, max } = change.value;
      if (![t, min, max].every(isNumber)) return "Temperatures must be finite numbers.";
      const bound = limits.maxAbsTemperature;
      for (const [name, value] of [
        ["default", t],
        ["min", min],
        ["max", max],
      ] as const) {
        if (Math.abs(value) > bound)
          return `The ${name} ${value} is outside the operator's limit MAX_ABS_TEMPERATURE: T must stay within -${bound} … ${bound}.`;
      }
      if (min > max) return `The min ${min} is above the max ${max}.`;
      if (t < min || t > max) return `The default ${t} is outside the range ${min} … ${max}.`;
      if (t !== 0 && Math.abs(t) < MIN_ABS_TEMPERATURE)
        return `The default must be 0 or at least ${MIN_ABS_TEMPERATURE} away from it, got ${t}.`;
      return undefined;
    }
    case "tokens": {
      const { default: n, max } = change.value;
      if (!isInteger(n) || !isInteger(max)) return "Token counts must be whole numbers.";
      if (max < 1 || max > limits.maxTokensCap)
        return `The max ${max} is outside the operator's limit MAX_TOKENS_CAP: it must be from 1 to ${limits.maxTokensCap}.`;
      if (n < 1 || n > max) return `The default ${n} must be from 1 to the max, ${max}.`;
      return undefined;
    }
    case "cooldown": {
      const seconds = change.value;
      if (!isInteger(seconds)) return "The cooldown must be a whole number of seconds.";
      if (seconds < limits.minCooldownSeconds)
        return `The cooldown ${seconds} s is below the operator's limit COOLDOWN_SECONDS: it must be at least ${limits.minCooldownSeconds} s.`;
      if (seconds > MAX_COOLDOWN_SECONDS) return `The cooldown must be at most ${MAX_COOLDOWN_SECONDS} s (a day).`;
      return undefined;
    }
    case "channel": {
      const { allowed, denied } = change.value;
      if (!Array.isArray(allowed) || !Array.isArray(denied) || ![...allowed, ...denied].every(isDiscordId))
        return "Channel lists must hold channel ids.";
      if (allowed.length > MAX_LISTED_CHANNELS || denied.length > MAX_LISTED_CHANNELS)
        return `At most ${MAX_LISTED_CHANNELS} channels can be allowed or denied.`;
      return undefined;
    }
    case "hall-of-fame": {
      const { channelId, threshold, removeBelow } = change.value;
      if (channelId !== null && !isDiscordId(channelId)) return "The hall of fame needs a channel.";
      if (!isInteger(threshold) || threshold < 0 || threshold > MAX_THRESHOLD)
        return `The threshold must be a whole number from 0 (off) to ${MAX_THRESHOLD}.`;
      if (removeBelow !== null && (!isInteger(removeBelow) || removeBelow < 0 || removeBelow > threshold))
        return `remove_below must be a whole number from 0 to the threshold, ${threshold}.`;
      return undefined;
    }
    case "votes":
    case "policy":
      return typeof change.value === "boolean" ? undefined : "The value must be true or false.";
    case "vocab":
      return isVocabulary(change.value) ? undefined : `The vocabulary must be one of ${VOCABULARIES.join(", ")}.`;
    case "layout":
      return RESULT_LAYOUTS.includes(change.value)
        ? undefined
        : `The layout must be one of ${RESULT_LAYOUTS.join(", ")}.`;
    case "model": {
      const { default: model, allowed } = change.value;
      const isId = (id: unknown) => typeof id === "string" && MODEL_ID_PATTERN.test(id);
      if (model !== null && !isId(model)) return "The default model must be a model id.";
      if (!Array.isArray(allowed) || !allowed.every(isId)) return "The allowed models must be model ids.";
      if (allowed.length > MAX_ALLOWED_MODELS) return `At most ${MAX_ALLOWED_MODELS} models can be allowed.`;
      if (model !== null && allowed.length > 0 && !allowed.includes(model))
        return `The default model ${model} is not among the allowed ones (${allowed.join(", ")}).`;
      return undefined;
    }
  }
}

/** Where each effective value comes from; "ignored" is a server value the operator's limits no longer allow. */
export type SettingSource = "server" | "default" | "ignored";

export interface SettingsChangeRecord {
  at: number;
  memberId: string;
  setting: SettingName;
  /** The server's own values, null for the operator's default. */
  old: unknown;
  new: unknown;
}

export interface SettingsView {
  settings: ServerSettings;
  source: Record<SettingName, SettingSource>;
  lastChange: SettingsChangeRecord | undefined;
}

// Sets (or, with an empty value, removes) one field and logs the change in one step, so two
// admins at once cannot log a wrong "old". Returns the old value ("" for none), or nothing
// when the value was already that.
const CHANGE = `
local old = redis.call("HGET", KEYS[1], ARGV[1]) or ""
if old == ARGV[2] then return false end
if ARGV[2] == "" then redis.call("HDEL", KEYS[1], ARGV[1]) else redis.call("HSET", KEYS[1], ARGV[1], ARGV[2]) end
local function json(v) if v == "" then return "null" end return v end
redis.call("LPUSH", KEYS[2], '{"at":' .. ARGV[3] .. ',"memberId":"' .. ARGV[4] .. '","setting":"' .. ARGV[1] ..
  '","old":' .. json(old) .. ',"new":' .. json(ARGV[2]) .. '}')
redis.call("LTRIM", KEYS[2], 0, tonumber(ARGV[5]) - 1)
return old
`;

export class SettingsStore {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly operator: OperatorSettings,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** The settings in effect for this server: its own over the operator's defaults. */
  async forServer(guildId: string): Promise<ServerSettings> {
    return (await this.resolve(guildId)).settings;
  }

  /** The effective settings, where each comes from, and the last change (for /weird-config show). */
  async view(guildId: string): Promise<SettingsView> {
    const [resolved, last] = await Promise.all([
      this.resolve(guildId),
      this.redis.lindex(this.keys.settingsLog(guildId), 0),
    ]);
    return { ...resolved, lastChange: last === null ? undefined : (JSON.parse(last) as SettingsChangeRecord) };
  }

  /**
   * Sets one of the server's settings after checking it against the operator's limits
   * (InvalidSettingError says why not). Returns false when it already had that value.
   */
  async set(guildId: string, memberId: string, change: SettingChange): Promise<boolean> {
    const problem = settingProblem(change, this.operator.limits);
    if (problem) throw new InvalidSettingError(problem);
    return this.write(guildId, memberId, change.setting, JSON.stringify(change.value));
  }

  /** Back to the operator's default: one setting, or all. Returns the settings that changed. */
  async reset(guildId: string, memberId: string, setting?: SettingName): Promise<SettingName[]> {
    const changed: SettingName[] = [];
    for (const name of setting ? [setting] : SETTING_NAMES)
      if (await this.write(guildId, memberId, name, "")) changed.push(name);
    return changed;
  }

  private async write(guildId: string, memberId: string, setting: SettingName, value: string): Promise<boolean> {
    if (!isDiscordId(guildId) || !isDiscordId(memberId)) throw new Error("settings need a server id and a member id");
    const keys = [this.keys.settings(guildId), this.keys.settingsLog(guildId)];
    const old = (await this.redis.eval(
      CHANGE,
      keys.length,
      ...keys,
      setting,
      value,
      Date.now(),
      memberId,
      LOG_LENGTH,
    )) as string | null;
    if (old === null) return false;
    this.log(
      `settings: server ${guildId} member ${memberId} ${setting}: ${old === "" ? "default" : old} → ${value === "" ? "default" : value}`,
    );
    return true;
  }

  private async resolve(guildId: string): Promise<Omit<SettingsView, "lastChange">> {
    const stored = await this.redis.hgetall(this.keys.settings(guildId));
    const settings: ServerSettings = structuredClone(this.operator.defaults);
    const source = Object.fromEntries(SETTING_NAMES.map(name => [name, "default"])) as Record<
      SettingName,
      SettingSource
    >;
    for (const name of SETTING_NAMES) {
      const raw = stored[name];
      if (raw === undefined) continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        value = undefined;
      }
      const change = { setting: name, value } as SettingChange;
      // The operator may have lowered a limit since: such a value is ignored, not widened into effect.
      if (value === undefined || value === null || settingProblem(change, this.operator.limits)) {
        source[name] = "ignored";
        continue;
      }
      (settings as unknown as Record<string, unknown>)[SETTING_FIELDS[name]] = value;
      source[name] = "server";
    }
    return { settings, source };
  }
}

/** Whether /weird and its buttons work in this channel (a thread counts as its parent channel too). */
export function channelAllowed(channels: ServerSettings["channels"], ...here: Array<string | null>): boolean {
  const ids = here.filter((id): id is string => id !== null);
  if (ids.some(id => channels.denied.includes(id))) return false;
  return channels.allowed.length === 0 || ids.some(id => channels.allowed.includes(id));
}
