// Every environment variable belowzero reads, as data: name, type, default, range and meaning.
// config.ts reads through this table, and `npm run docs:env` writes .env.example and the
// table of docs/configuration.md from it (a test keeps them in step), so there is one list, not three.
import { DISCORD_ID } from "./discordId.js";
import { MODEL_ID_PATTERN } from "./store/models.js";
import { DEFAULT_CONTEXT_SIZE, DEFAULT_LIMITS, DEFAULT_NEGATION, DEFAULT_TOKEN_POLICY } from "./engine/defaults.js";

export type Env = Record<string, string | undefined>;

export interface Setting<T> {
  section: Section;
  /** One line for people: what it does, and why one would change it. */
  meaning: string;
  /** The value when the variable is unset (undefined: none, or worked out elsewhere). */
  fallback: T;
  /** How the default reads in the docs, when it is not simply the fallback. */
  shownDefault?: string;
  /** The accepted values, for the docs. */
  range?: string;
  /** What .env.example puts in, when it differs from the default (e.g. the bundled test model). */
  example?: string;
  /** Commented out in .env.example: advanced, or worked out at run time. */
  advanced?: boolean;
  /** The variable's deprecated former name: still read, with a warning (deprecationWarnings). */
  formerName?: string;
  /** Turns the raw text into a value, or returns a problem (without the name). */
  parse(raw: string): T | Problem;
}

/** Any row of the table (every value is a primitive). */
export type AnySetting = Setting<string | number | boolean | undefined>;

export class Problem {
  constructor(readonly message: string) {}
}

export const SECTIONS = {
  model: "the model",
  llama: "llama.cpp",
  requests: "requests",
  negation: "sampling below zero",
  discord: "Discord",
  queue: "queue",
  worker: "worker",
  community: "the community game",
  operations: "operations",
} as const;
type Section = keyof typeof SECTIONS;

interface Common {
  section: Section;
  meaning: string;
  shownDefault?: string;
  example?: string;
  advanced?: boolean;
  formerName?: string;
}

function integer(o: Common & { default: number; min: number; max: number }): Setting<number>;
function integer(o: Common & { min: number; max: number }): Setting<number | undefined>;
function integer(o: Common & { default?: number; min: number; max: number }): Setting<number | undefined> {
  return {
    ...o,
    fallback: o.default,
    range: `${o.min}–${o.max}`,
    parse: raw => {
      const value = Number(raw);
      if (Number.isInteger(value) && value >= o.min && value <= o.max) return value;
      return new Problem(`must be a whole number from ${o.min} to ${o.max}`);
    },
  };
}

function number(o: Common & { default: number; min: number; max: number }): Setting<number> {
  return {
    ...o,
    fallback: o.default,
    range: `${o.min} to ${o.max}`,
    parse: raw => {
      const value = Number(raw);
      if (raw.trim() !== "" && Number.isFinite(value) && value >= o.min && value <= o.max) return value;
      return new Problem(`must be a number from ${o.min} to ${o.max}`);
    },
  };
}

function boolean(o: Common & { default: boolean }): Setting<boolean> {
  return {
    ...o,
    fallback: o.default,
    range: "true, false",
    parse: raw => {
      const value = raw.toLowerCase();
      if (["1", "true", "yes", "on"].includes(value)) return true;
      if (["0", "false", "no", "off"].includes(value)) return false;
      return new Problem("must be true or false");
    },
  };
}

/** true, false, or "auto" (the program decides where it applies). */
function booleanOrAuto(o: Common & { default: "auto" }): Setting<boolean | "auto"> {
  const asBoolean = boolean({ ...o, default: false });
  return {
    ...o,
    fallback: o.default,
    range: "auto, true, false",
    parse: raw => {
      if (raw.toLowerCase() === "auto") return "auto";
      const value = asBoolean.parse(raw);
      return value instanceof Problem ? new Problem("must be auto, true or false") : value;
    },
  };
}

function choice<T extends string>(o: Common & { default: T; choices: readonly T[] }): Setting<T> {
  return {
    ...o,
    fallback: o.default,
    range: o.choices.join(", "),
    parse: raw =>
      (o.choices as readonly string[]).includes(raw)
        ? (raw as T)
        : new Problem(`must be one of ${o.choices.join(", ")}`),
  };
}

function text(o: Common & { default: string; pattern?: [RegExp, string] }): Setting<string>;
function text(o: Common & { pattern?: [RegExp, string] }): Setting<string | undefined>;
function text(o: Common & { default?: string; pattern?: [RegExp, string] }): Setting<string | undefined> {
  return {
    ...o,
    fallback: o.default,
    parse: raw => (o.pattern && !o.pattern[0].test(raw) ? new Problem(o.pattern[1]) : raw),
  };
}

/** A number of GPU layers, or "auto" / "max". */
function gpuLayers(o: Common): Setting<"auto" | "max" | number> {
  return {
    ...o,
    fallback: "auto",
    range: "auto, max, 0–10000",
    parse: raw => {
      if (raw === "auto" || raw === "max") return raw;
      const value = Number(raw);
      return Number.isInteger(value) && value >= 0 && value <= 10_000
        ? value
        : new Problem("must be auto, max or a whole number of layers from 0 to 10000");
    },
  };
}

/** "auto" (Discord's recommendation) or a number of gateway shards. */
function shardCount(o: Common): Setting<"auto" | number> {
  return {
    ...o,
    fallback: "auto",
    range: "auto, 1–10000",
    parse: raw => {
      if (raw === "auto") return raw;
      const value = Number(raw);
      return Number.isInteger(value) && value >= 1 && value <= 10_000
        ? value
        : new Problem("must be auto or a whole number of shards from 1 to 10000");
    },
  };
}

export const ENVIRONMENT = {
  MODEL: text({
    section: "model",
    meaning: "GGUF path or model URI (hf:user/repo/file.gguf, https://…); required for the worker",
    example: "../shared/models/stories260K.gguf",
  }),
  MODEL_ID: text({
    section: "model",
    meaning:
      "the model's id in /weird model: and the name of its own queue; unset: the GGUF's name, on the shared queue (one model needs nothing more; give each model of several its own)",
    pattern: [MODEL_ID_PATTERN, "must be 1 to 64 letters, digits, dots, dashes or underscores"],
    advanced: true,
  }),
  MODELS: text({
    section: "model",
    meaning:
      "several models served by one worker process, each on its own queue, as id=path entries separated by commas (instead of MODEL and MODEL_ID); the worker refuses to start if together they need more RAM than is free (see docs/deploy.md)",
    example: "tiny=models/stories260K.gguf,tinyllama=hf:user/repo/tinyllama.Q8_0.gguf",
    advanced: true,
  }),
  MODELS_AT_ONCE: integer({
    section: "model",
    min: 1,
    max: 64,
    meaning:
      "of a worker's MODELS, how many generate at the same time (the others' jobs wait their turn, in order); each running model has its own contexts and threads",
    shownDefault: "as many as fit the cores: ⌊(cores − 1) / (threads × contexts per model)⌋, at least 1",
    advanced: true,
  }),
  MODELS_DIR: text({ section: "model", default: "models", meaning: "where model URIs are downloaded (once)" }),
  BELOWZERO_CACHE_DIR: text({
    section: "model",
    meaning: "where the negation adapter or negated copy go when the model's folder is read-only",
    shownDefault: "~/.cache/belowzero",
    advanced: true,
  }),

  LLAMA_THREADS: integer({
    section: "llama",
    min: 1,
    max: 1024,
    meaning:
      "CPU threads per context; one context per sign of T (one in all on the sampler route), so at most twice this many at once. More threads than free cores collapse llama.cpp's spin-waiting thread pool",
    shownDefault: "⌊(cores − 1) / 2⌋, at least 1",
    advanced: true,
  }),
  LLAMA_GPU: choice({
    section: "llama",
    default: "auto",
    choices: ["auto", "cpu", "cuda", "vulkan", "metal"] as const,
    meaning: "GPU backend; cpu forces the CPU",
  }),
  LLAMA_GPU_LAYERS: gpuLayers({ section: "llama", meaning: "layers to offload to the GPU" }),
  LLAMA_CONTEXT_SIZE: integer({
    section: "llama",
    default: DEFAULT_CONTEXT_SIZE,
    min: 64,
    max: 1 << 20,
    meaning: "tokens per context (prompt + output), at most the model's trained size",
  }),
  WORKER_CONCURRENCY: integer({
    section: "llama",
    default: 1,
    min: 1,
    max: 64,
    meaning:
      "generations running at once; those of one sign (of both, on the sampler route) run as sequences of one context, decoded as one batch",
  }),

  MAX_TOKENS_CAP: integer({
    section: "requests",
    default: DEFAULT_LIMITS.maxTokensCap,
    min: 1,
    max: 8192,
    meaning: "largest max tokens a request may ask for",
  }),
  MAX_ABS_TEMPERATURE: number({
    section: "requests",
    default: DEFAULT_LIMITS.maxAbsTemperature,
    min: 0.001,
    max: 1e6,
    meaning: "largest |T|; a non-zero |T| must also be at least 1e-6 (float32 overflows below)",
  }),
  MAX_PROMPT_CHARS: integer({
    section: "requests",
    default: DEFAULT_LIMITS.maxPromptCharacters,
    min: 1,
    max: 100_000,
    meaning: "longest prompt, in characters",
  }),
  DEFAULT_TEMPERATURE: number({
    section: "requests",
    default: -0.001,
    min: -1e6,
    max: 1e6,
    meaning: "T when /weird or the CLI leaves it out",
  }),
  DEFAULT_MAX_TOKENS: integer({
    section: "requests",
    default: 64,
    min: 1,
    max: 8192,
    meaning: "max tokens when /weird or the CLI leaves it out",
  }),

  NEGATION_ROUTE: choice({
    section: "negation",
    default: DEFAULT_NEGATION.route,
    choices: ["auto", "sampler", "adapter", "copy"] as const,
    meaning: "how logits are negated below zero (see “How negative temperature works here”)",
  }),
  NEGATION_COPY_MAX_MB: integer({
    section: "negation",
    default: DEFAULT_NEGATION.copyMaxBytes / 1024 ** 2,
    min: 0,
    max: 1 << 30,
    meaning: "largest model that auto negates with a sign-flipped copy (above: the LoRA adapter)",
  }),
  ALLOW_BYTE_TOKENS: boolean({
    section: "negation",
    default: DEFAULT_TOKEN_POLICY.allowBytes,
    meaning:
      "let raw byte tokens be sampled below zero (the bot: for servers that have not set `/weird-config policy`)",
  }),
  NATIVE_STEPS: booleanOrAuto({
    section: "negation",
    default: "auto",
    meaning:
      "source-built backend only: run generation steps as native chunks (decode, sample and the weirdness readout in one job; faster, and the score nearly free). auto: on the CPU, where it is measured (1.01–1.29× node-llama-cpp's loop); off on a GPU, where it has not run yet",
  }),
  ALLOW_END_BELOW_ZERO: boolean({
    section: "negation",
    default: DEFAULT_TOKEN_POLICY.allowEndBelowZero,
    meaning: "let the end-of-text token end a reply below zero",
  }),
  ALLOW_ALL_TOKENS: boolean({
    section: "negation",
    default: DEFAULT_TOKEN_POLICY.allowAll,
    meaning: "switch the token policy off",
  }),

  DISCORD_TOKEN: text({ section: "discord", meaning: "the bot token, for bot and worker (required; never logged)" }),
  DISCORD_API_URL: text({
    section: "discord",
    default: "https://discord.com/api",
    pattern: [/^https?:\/\//, "must be an http(s) URL"],
    meaning: "REST base for bot and worker: Discord, an API proxy, or a Discord-compatible server",
  }),
  DISCORD_GUILD_ID: text({
    section: "discord",
    pattern: [DISCORD_ID, "must be a server id (digits)"],
    meaning: "register the commands in this server only (instant); unset: globally",
  }),
  DISCORD_APPLICATION_ID: text({
    section: "discord",
    pattern: [DISCORD_ID, "must be an application id (digits)"],
    meaning: "for deploy-commands, when it cannot be read from the token",
    advanced: true,
  }),
  RESULT_LAYOUT: choice({
    section: "discord",
    default: "cards",
    choices: ["cards", "plain"],
    meaning:
      "how results look: cards (Discord's Components V2: text displays, a weirdness meter, the buttons) or plain messages, for members on clients or bridges that cannot show cards; sweeps are always plain",
  }),

  REDIS_URL: text({
    section: "queue",
    default: "redis://127.0.0.1:6379",
    // redis+cluster://host:port,host:port (rediss+cluster:// for TLS) names a Redis Cluster.
    pattern: [/^rediss?(\+cluster)?:\/\//, "must start with redis:// or rediss://"],
    meaning: "the queue and every record; redis+cluster://host:port,host:port for a Redis Cluster",
  }),
  REDIS_CLUSTER_NODES: text({
    section: "queue",
    pattern: [/^[^\s,:]+:\d+(\s*,\s*[^\s,:]+:\d+)*$/, "must be host:port pairs separated by commas"],
    meaning: "seed nodes of a Redis Cluster (host:port,host:port…), instead of REDIS_URL",
    advanced: true,
  }),
  REDIS_PREFIX: text({
    section: "queue",
    default: "{belowzero}",
    meaning:
      "prefix of every Redis key (queues, outputs, votes, settings); the braces keep every key in one Redis Cluster slot",
    formerName: "QUEUE_PREFIX",
  }),
  QUEUE_MAX_PER_GUILD: integer({
    section: "queue",
    default: 5,
    min: 1,
    max: 10_000,
    meaning: "generations queued or running per server",
  }),
  QUEUE_MAX_TOTAL: integer({
    section: "queue",
    default: 50,
    min: 1,
    max: 100_000,
    meaning: "generations queued or running in all",
  }),
  COOLDOWN_SECONDS: number({
    section: "queue",
    default: 15,
    min: 0,
    max: 86_400,
    meaning: "seconds a member waits between requests (a server may set a longer one, not a shorter one)",
  }),
  REPLY_WINDOW_SECONDS: number({
    section: "queue",
    default: 870,
    min: 1,
    max: 900,
    meaning:
      "where belowzero is not a member (a member's own install in another server, group DMs), how long after the command its result must arrive: it can only come through the interaction, whose token lives 15 minutes",
  }),

  MODEL_WAIT_SECONDS: integer({
    section: "queue",
    default: 120,
    min: 1,
    max: 86_400,
    meaning: "how long jobs wait for a model whose last worker died before the bot tells their members and drops them",
  }),

  WORKER_LOCK_SECONDS: integer({
    section: "worker",
    default: 60,
    min: 1,
    max: 3600,
    meaning: "a job whose worker stops renewing its lock this long is taken over by another",
  }),
  WORKER_STALLED_CHECK_SECONDS: integer({
    section: "worker",
    default: 30,
    min: 1,
    max: 3600,
    meaning: "how often workers look for such jobs",
  }),
  STREAM_EDIT_INTERVAL_MS: integer({
    section: "worker",
    default: 1000,
    min: 200,
    max: 60_000,
    meaning: "least time between streaming edits of a reply (Discord rate-limits edits)",
  }),

  OUTPUT_RETENTION_DAYS: integer({
    section: "community",
    default: 90,
    min: 1,
    max: 3650,
    meaning: "days outputs and their votes are kept; leaderboards and stats drop them then (hall-of-fame posts stay)",
  }),

  METRICS_PORT: integer({
    section: "operations",
    default: 0,
    min: 0,
    max: 65_535,
    meaning:
      "port of /metrics and /healthz on bot and worker (the images use 9464); 0 serves nothing, so npm start's two processes never clash",
  }),
  LOG_LEVEL: choice({
    section: "operations",
    default: "info",
    choices: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const,
    meaning: "least severity written to the JSON log lines",
  }),
  GATEWAY_SHARDS: shardCount({
    section: "operations",
    meaning:
      "gateway shards the bot's ShardingManager starts (npm run start:shards, the images); auto: as Discord recommends",
    // discord.js reads SHARD_COUNT itself, as the shard count of every client.
    formerName: "SHARD_COUNT",
  }),
} satisfies Record<string, AnySetting>;

export type VariableName = keyof typeof ENVIRONMENT;
type ValueOf<S> = S extends Setting<infer T> ? T : never;

/** Reads settings from the environment through the table, remembering every problem it meets. */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  get<K extends VariableName>(name: K): ValueOf<(typeof ENVIRONMENT)[K]> {
    const setting = ENVIRONMENT[name] as Setting<ValueOf<(typeof ENVIRONMENT)[K]>>;
    const raw = this.raw(name, setting);
    if (raw === undefined) return setting.fallback;
    const value = setting.parse(raw);
    if (!(value instanceof Problem)) return value;
    this.problems.push(`${name} ${value.message}, got "${raw}"`);
    return setting.fallback;
  }

  /** The variable's text, or its former name's; both set to different values is a problem. */
  private raw(name: string, setting: AnySetting): string | undefined {
    const current = nonEmpty(this.env[name]);
    const former = setting.formerName === undefined ? undefined : nonEmpty(this.env[setting.formerName]);
    if (current !== undefined && former !== undefined && current !== former)
      this.problems.push(
        `${name} and ${setting.formerName} (its deprecated former name) are both set, to "${current}" and "${former}": keep ${name} only`,
      );
    return current ?? former;
  }

  /** Throws a ConfigError naming every problem found so far. */
  check(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

const nonEmpty = (raw: string | undefined) => (raw?.trim() ? raw.trim() : undefined);

/** One line for each deprecated variable name the environment still uses, for the log at start. */
export function deprecationWarnings(env: Env): string[] {
  return (Object.entries(ENVIRONMENT) as Array<[string, AnySetting]>).flatMap(([name, setting]) =>
    setting.formerName !== undefined && nonEmpty(env[setting.formerName]) !== undefined
      ? [`${setting.formerName} is deprecated and will stop working: rename it ${name} (same value)`]
      : [],
  );
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map(p => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** The meaning as the docs show it, with the former name an old configuration may still use. */
const documented = (setting: AnySetting) =>
  setting.formerName === undefined ? setting.meaning : `${setting.meaning} (formerly ${setting.formerName})`;

function shownDefault(setting: AnySetting): string {
  if (setting.shownDefault !== undefined) return setting.shownDefault;
  return setting.fallback === undefined ? "" : String(setting.fallback);
}

/** .env.example, written from the table. */
export function renderEnvExample(): string {
  const lines = [
    "# belowzero configuration, written from src/environment.ts by `npm run docs:env`.",
    "# Copy to .env and adjust. Every value shown is the default unless it is an example.",
  ];
  for (const [section, title] of Object.entries(SECTIONS)) {
    lines.push("", `# --- ${title} ${"-".repeat(Math.max(3, 84 - title.length))}`);
    for (const [name, setting] of Object.entries(ENVIRONMENT) as Array<[string, AnySetting]>) {
      if (setting.section !== section) continue;
      const accepted = setting.range ? ` (${setting.range})` : "";
      const worked = setting.shownDefault ? `; default: ${setting.shownDefault}` : "";
      lines.push(`# ${documented(setting)}${accepted}${worked}`);
      const value = setting.example ?? (setting.shownDefault ? "" : shownDefault(setting));
      lines.push(setting.advanced ? `# ${name}=${value}` : `${name}=${value}`);
    }
  }
  return lines.join("\n") + "\n";
}

const escapeCell = (cell: string) => cell.replace(/\|/g, "\\|");

/** docs/configuration.md's table, written from the table. */
export function renderEnvironmentTable(): string {
  const rows = (Object.entries(ENVIRONMENT) as Array<[string, AnySetting]>).map(([name, setting]) => {
    const fallback = shownDefault(setting);
    return `| \`${name}\` | ${fallback === "" ? "—" : `\`${fallback}\``} | ${escapeCell(setting.range ?? "")} | ${escapeCell(documented(setting))} |`;
  });
  return ["| variable | default | accepted | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

export const ENVIRONMENT_TABLE_MARKERS = [
  "<!-- environment table: npm run docs:env -->",
  "<!-- end of environment table -->",
];
