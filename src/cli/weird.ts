// `weird`: sample a model at any temperature, below zero included, from the terminal.
import { config as loadDotenv } from "dotenv";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { EnvReader, readEngineOptions, readRequestDefaults, type RequestDefaults } from "../config.js";
import { DEFAULT_LIMITS } from "../engine/defaults.js";
import type { GenerationResult } from "../engine/engine.js";
import { formatSchedule, parseSchedule, zeroCrossings } from "../engine/schedule.js";
import {
  checkMaxTokens,
  checkSeed,
  checkTemperature,
  checkVocabulary,
  formatBeta,
  InvalidRequestError,
} from "../engine/request.js";
import { DEFAULT_SWEEP_TEMPERATURES } from "../engine/sweep.js";
import { VOCABULARIES } from "../engine/vocabulary.js";
import { formatWeirdness } from "../engine/weirdness.js";
import { visibleText } from "../visibleText.js";

const USAGE = `Usage: npm run weird -- [options] "prompt"

Options:
  --model PATH|URI   GGUF file or model URI (default: $MODEL); repeatable: every model runs
                     with the same seed, one after the other, and the runs print side by side
  --temp T           temperature, repeatable; below zero samples the least likely tokens (default $DEFAULT_TEMPERATURE, else -0.001)
  --schedule S       a temperature per token instead of one: A..B anneals from T = A to T = B
                     linearly in β = 1/T (1..-1), A/B@N puts every Nth token at T = B (0.8/-0.001@4)
  --sweep            compare the continuation and its weirdness side by side at
                     ${DEFAULT_SWEEP_TEMPERATURES.join(", ")} (or at the given --temp values)
  --chart FILE.png   with --sweep: also draw weirdness against β = 1/T into a PNG file
  --chart-tokens FILE.png
                     draw where the output turned weird: each token's surprisal at T = 1,
                     its text, and the temperature it was sampled at (one output only)
  --max-tokens N     tokens to generate (default $DEFAULT_MAX_TOKENS, else 64)
  --seed N           seed for reproducible sampling (default: random, printed)
  --allow-bytes      let raw byte tokens be sampled
  --vocab NAME       sample only tokens that spell one script: ${VOCABULARIES.join(", ")} (default any)
  --json             one JSON object per generation, one per line (with surprisal, the weirdness)
  -h, --help         show this help`;

class UsageError extends Error {}

/** parseArgs rejects "--temp -1"; rewrite a negative number after a value option as "--temp=-1". */
function joinNegativeValues(args: string[]): string[] {
  const valueOptions = new Set(["--temp", "--seed", "--max-tokens", "--schedule"]);
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (valueOptions.has(args[i]!) && next !== undefined && /^-\d|^-\.\d|^-(Infinity|NaN)$/i.test(next)) {
      joined.push(`${args[i]}=${next}`);
      i++;
    } else {
      joined.push(args[i]!);
    }
  }
  return joined;
}

function parseNumber(name: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === "" || Number.isNaN(value))
    throw new InvalidRequestError(`${name} must be a number, got "${raw}".`);
  return value;
}

function parseCommandLine(argv: string[], defaults: RequestDefaults) {
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(argv),
    allowPositionals: true,
    options: {
      model: { type: "string", multiple: true },
      temp: { type: "string", multiple: true },
      schedule: { type: "string" },
      sweep: { type: "boolean", default: false },
      chart: { type: "string" },
      "chart-tokens": { type: "string" },
      "max-tokens": { type: "string" },
      seed: { type: "string" },
      "allow-bytes": { type: "boolean", default: false },
      vocab: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const prompt = positionals.join(" ");
  if (prompt.trim() === "") throw new UsageError(`No prompt given. ${USAGE.split("\n")[0]}`);
  const given = (values.temp ?? []).map(raw => parseNumber("Temperature", raw));
  const temperatures =
    given.length > 0 ? given : values.sweep ? [...DEFAULT_SWEEP_TEMPERATURES] : [defaults.temperature];
  if (values.schedule !== undefined && (values.sweep || given.length > 0))
    throw new UsageError("--schedule replaces the temperature: leave out --temp and --sweep.");
  if (values.chart !== undefined && !values.sweep) throw new UsageError("--chart draws a sweep: add --sweep.");
  if (values["chart-tokens"] !== undefined && temperatures.length !== 1)
    throw new UsageError("--chart-tokens draws one output: give one temperature, without --sweep.");
  const models = values.model ?? [];
  if (models.length > 1 && (values.chart !== undefined || values["chart-tokens"] !== undefined))
    throw new UsageError("--chart and --chart-tokens draw one model's runs: give one --model.");
  return {
    prompt,
    models,
    temperatures,
    schedule: values.schedule,
    sweep: values.sweep,
    chart: values.chart,
    chartTokens: values["chart-tokens"],
    maxTokens:
      values["max-tokens"] === undefined ? defaults.maxTokens : parseNumber("Max tokens", values["max-tokens"]),
    seed: values.seed === undefined ? undefined : parseNumber("Seed", values.seed),
    allowBytes: values["allow-bytes"],
    vocab: checkVocabulary(values.vocab),
    json: values.json,
  };
}

const round4 = (value: number) => Number(value.toFixed(4));

function toJsonLine(result: GenerationResult): string {
  const { prompt, temperature, beta, seed, vocab, model, tokens, text, stopReason, tokensPerSecond } = result;
  return JSON.stringify({
    prompt,
    temperature,
    beta: Number.isFinite(beta) ? beta : null,
    ...(result.schedule && { schedule: formatSchedule(result.schedule), temperatures: result.temperatures }),
    seed,
    vocab,
    model,
    tokens,
    text,
    stopReason,
    tokensPerSecond: Number(tokensPerSecond.toFixed(1)),
    surprisal: result.surprisal === null ? null : round4(result.surprisal),
    surprisals: result.surprisals.map(round4),
  });
}

/** The runs side by side: a row each, with the model first when several ran. */
function sweepTable(results: GenerationResult[], withModel = false): string {
  const rows = results.map(r => [
    ...(withModel ? [r.model] : []),
    String(r.temperature),
    formatBeta(r.temperature),
    formatWeirdness(r.surprisal),
    visibleText(r.text).replace(/\n/g, "⏎"),
  ]);
  const header = [...(withModel ? ["model"] : []), "T", "β", "weirdness", "continuation"];
  const fixed = header.length - 1; // the continuation is left unpadded
  const widths = header
    .slice(0, fixed)
    .map((title, column) => Math.max(title.length, ...rows.map(row => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < fixed ? cell.padEnd(widths[i]!) : cell)).join(" │ ");
  const rule = widths.map(w => "─".repeat(w)).join("─┼─") + "─┼─" + "─".repeat(12);
  return [line(header), rule, ...rows.map(line)].join("\n");
}

async function main(argv: string[]): Promise<number> {
  loadDotenv({ quiet: true });
  const reader = new EnvReader(process.env);
  const defaults = readRequestDefaults(reader);
  const options = parseCommandLine(argv, defaults);
  if (options === undefined) {
    console.log(USAGE);
    return 0;
  }
  const engineOptions = readEngineOptions(reader);
  reader.check();
  const limits = { ...DEFAULT_LIMITS, ...engineOptions.limits };
  // Check every number before spending seconds on loading the model.
  const schedule = options.schedule === undefined ? undefined : parseSchedule(options.schedule, limits);
  if (schedule === undefined) options.temperatures.forEach(t => checkTemperature(t, limits));
  checkMaxTokens(options.maxTokens, limits);
  const seed = checkSeed(options.seed);
  const models = options.models.length > 0 ? options.models : engineOptions.model ? [engineOptions.model] : [];
  if (models.length === 0) throw new UsageError("No model given: pass --model PATH or set MODEL.");
  const comparing = models.length > 1;

  // Loaded only now: importing the native addon costs a second, and bad input should not wait.
  const { Engine } = await import("../engine/engine.js");
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  const results: GenerationResult[] = [];
  // One model loaded at a time: never two sets of weights in memory, nor two thread pools.
  for (const model of models) {
    if (abort.signal.aborted) break;
    const engine = await Engine.load({ ...engineOptions, model });
    try {
      for (const temperature of schedule ? [NaN] : options.temperatures) {
        const streaming = !options.json && !options.sweep && !comparing;
        const heading = schedule
          ? `schedule ${formatSchedule(schedule)}`
          : `T = ${temperature}  β = ${formatBeta(temperature)}`;
        if (streaming)
          process.stdout.write(
            `${heading}  seed ${seed}${options.vocab === "any" ? "" : `  vocab ${options.vocab}`}\n${options.prompt}`,
          );
        const result = await engine.generate(
          {
            prompt: options.prompt,
            temperature: schedule ? 1 : temperature,
            ...(schedule && { schedule }),
            maxTokens: options.maxTokens,
            seed,
            tokenPolicy: { allowBytes: options.allowBytes },
            vocab: options.vocab,
          },
          { signal: abort.signal, onText: streaming ? chunk => process.stdout.write(visibleText(chunk)) : undefined },
        );
        const crossings = zeroCrossings(result.temperatures);
        const crossed = crossings.length === 0 ? "" : `, crosses zero at token ${crossings.slice(0, 8).join(", ")}`;
        if (streaming)
          process.stdout.write(
            `\n[${result.tokens.length} tokens${crossed}, ${result.stopReason}, ${result.tokensPerSecond.toFixed(0)} tokens/s, weirdness ${formatWeirdness(result.surprisal)} nats/token]\n\n`,
          );
        if (options.json) process.stdout.write(toJsonLine(result) + "\n");
        results.push(result);
        if (abort.signal.aborted) break;
      }
      if (options.sweep && !options.json && !comparing)
        console.log(
          `${options.prompt} … (seed ${seed}, ${options.maxTokens} tokens; weirdness = mean surprisal at T = 1, nats/token)\n${sweepTable(results)}`,
        );
      if (options.chart !== undefined) {
        const { renderSweepChart } = await import("../chart/sweepChart.js");
        const started = performance.now();
        const png = await renderSweepChart(results, {
          title: `"${options.prompt}" · seed ${seed} · ${options.maxTokens} tokens · ${engine.modelName}`,
        });
        writeFileSync(options.chart, png);
        const took = (performance.now() - started).toFixed(0);
        (options.json ? process.stderr : process.stdout).write(`chart: ${options.chart} (${took} ms)\n`);
      }
      if (options.chartTokens !== undefined && results[0] !== undefined) {
        const { renderTokenChart } = await import("../chart/tokenChart.js");
        const { tokenPieces } = await import("../engine/detokenizer.js");
        const result = results[0];
        const started = performance.now();
        const pieces = tokenPieces(engine.model, engine.promptTokens(result.prompt), result.tokens);
        const png = await renderTokenChart(
          pieces.map((text, i) => ({ text, surprisal: result.surprisals[i]!, temperature: result.temperatures[i]! })),
          {
            title: `"${result.prompt}" · ${result.schedule ? `schedule ${formatSchedule(result.schedule)}` : `T = ${result.temperature}`} · seed ${seed} · ${engine.modelName}`,
          },
        );
        writeFileSync(options.chartTokens, png);
        const took = (performance.now() - started).toFixed(0);
        (options.json ? process.stderr : process.stdout).write(`token chart: ${options.chartTokens} (${took} ms)\n`);
      }
    } finally {
      await engine.dispose();
    }
  }
  if (comparing && !options.json)
    console.log(
      `${options.prompt} … (seed ${seed}, ${options.maxTokens} tokens; weirdness = mean surprisal at T = 1, nats/token)\n${sweepTable(results, true)}`,
    );
  return 0;
}

main(process.argv.slice(2)).then(
  code => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`weird: ${message}`);
    process.exitCode = error instanceof UsageError || error instanceof InvalidRequestError ? 2 : 1;
  },
);
