// Environment → one validated, typed config. Every problem is collected and reported at
// once, so a misconfigured deployment is fixed in one round.
import { homedir } from "node:os";
import { join } from "node:path";
import type { EngineOptions, GpuSetting } from "./engine/engine.js";

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map(p => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads typed settings from the environment, remembering every problem it meets. */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? fallback : value;
  }

  integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(raw)) return true;
    if (["0", "false", "no", "off"].includes(raw)) return false;
    this.problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if ((choices as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${choices.join(", ")}, got "${raw}"`);
    return fallback;
  }

  /** Throws a ConfigError naming every problem found so far. */
  check(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

export function defaultCacheDir(env: Env = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "belowzero");
}

/** Engine settings shared by the worker and the CLI; the model itself may come from elsewhere. */
export function readEngineOptions(reader: EnvReader, env: Env = process.env): Omit<EngineOptions, "model"> & { model?: string } {
  const gpu = reader.choice("LLAMA_GPU", ["auto", "cpu", "cuda", "vulkan", "metal"] as const, "auto");
  const gpuLayersRaw = reader.string("LLAMA_GPU_LAYERS", "auto");
  const gpuLayers = gpuLayersRaw === "auto" || gpuLayersRaw === "max" ? gpuLayersRaw : reader.integer("LLAMA_GPU_LAYERS", 0, 0, 10_000);
  const threads = reader.string("LLAMA_THREADS") === undefined ? undefined : reader.integer("LLAMA_THREADS", 1, 1, 1024);
  return {
    model: reader.string("MODEL"),
    modelsDir: reader.string("MODELS_DIR", "models"),
    cacheDir: reader.string("BELOWZERO_CACHE_DIR", defaultCacheDir(env)),
    gpu: (gpu === "cpu" ? false : gpu) as GpuSetting,
    gpuLayers,
    ...(threads !== undefined && { threads }),
    contextSize: reader.integer("LLAMA_CONTEXT_SIZE", 1024, 64, 1 << 20),
    concurrency: reader.integer("WORKER_CONCURRENCY", 1, 1, 64),
    limits: {
      maxTokensCap: reader.integer("MAX_TOKENS_CAP", 512, 1, 8192),
      maxAbsTemperature: reader.number("MAX_ABS_TEMPERATURE", 100, 0.001, 1e6),
      maxPromptCharacters: reader.integer("MAX_PROMPT_CHARS", 2000, 1, 100_000),
    },
    negation: {
      route: reader.choice("NEGATION_ROUTE", ["auto", "adapter", "copy"] as const, "auto"),
      copyMaxBytes: reader.integer("NEGATION_COPY_MAX_MB", 1024, 0, 1 << 30) * 1024 * 1024,
    },
    tokenPolicy: {
      allowBytes: reader.boolean("ALLOW_BYTE_TOKENS", false),
      allowEndBelowZero: reader.boolean("ALLOW_END_BELOW_ZERO", false),
      allowAll: reader.boolean("ALLOW_ALL_TOKENS", false),
    },
  };
}
