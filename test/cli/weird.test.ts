// The `weird` command as a user runs it: a child process, its output and its exit code.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { temporaryFolder, testModelPath } from "../helpers/engine.js";
import { realVocabularyModel } from "../helpers/realVocabulary.js";
import { visibleText } from "../../src/visibleText.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

async function weird(args: string[], env: Record<string, string> = {}) {
  const childEnv = {
    ...process.env,
    LLAMA_GPU: "cpu",
    LLAMA_THREADS: "1",
    BELOWZERO_CACHE_DIR: temporaryFolder(),
    MODEL: "",
    ...env,
  };
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(root, "node_modules/tsx/dist/cli.mjs"), join(root, "src/cli/weird.ts"), ...args],
      { cwd: root, env: childEnv },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("weird --json", () => {
  it("prints one JSON object per temperature, with β and the generated token ids", async () => {
    const { code, stdout } = await weird([
      "--model",
      testModelPath(),
      "--json",
      "--temp",
      "-0.001",
      "--temp",
      "0",
      "--temp=1",
      "--max-tokens",
      "12",
      "--seed",
      "42",
      "Once",
      "upon",
      "a",
      "time",
    ]);
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split("\n")
      .map(
        line =>
          JSON.parse(line) as {
            temperature: number;
            beta: number | null;
            tokens: number[];
            text: string;
            surprisal: number;
            surprisals: number[];
          },
      );
    expect(lines.map(l => [l.temperature, l.beta])).toEqual([
      [-0.001, -1000],
      [0, null],
      [1, 1],
    ]);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual([
        "prompt",
        "temperature",
        "beta",
        "seed",
        "vocab",
        "model",
        "tokens",
        "text",
        "stopReason",
        "tokensPerSecond",
        "surprisal",
        "surprisals",
      ]);
      expect(line).toMatchObject({
        prompt: "Once upon a time",
        seed: 42,
        model: "stories260K.gguf",
        stopReason: "maxTokens",
      });
      expect(line.tokens).toHaveLength(12);
      expect(line.surprisals).toHaveLength(12);
      const mean = line.surprisals.reduce((a, b) => a + b, 0) / 12;
      expect(line.surprisal).toBeCloseTo(mean, 3);
    }
    expect(lines[0]!.surprisal).toBeGreaterThan(20); // the anti-greedy chain is weird
    expect(lines[1]!.surprisal).toBeLessThan(1); // the greedy one is not
    expect(lines[0]?.text).toBe("|".repeat(12));
    expect(lines[1]?.text).toBe(", there was a little girl named Lily. She");
  });

  it("takes the model from MODEL and prints a sweep table with weirdness along the default ladder", async () => {
    const { code, stdout } = await weird(["--sweep", "--max-tokens", "8", "--seed", "1", "Once upon a time"], {
      MODEL: testModelPath(),
    });
    expect(code).toBe(0);
    const rows = stdout
      .split("\n")
      .filter(line => line.includes("│"))
      .map(row => row.split("│").map(cell => cell.trim()));
    expect(rows.map(row => row[0])).toEqual(["T", "2", "1", "0.5", "0.001", "-0.001", "-0.5", "-1", "-2"]);
    expect(rows[0]).toEqual(["T", "β", "weirdness", "continuation"]);
    const antiGreedy = rows[5]!;
    expect(antiGreedy[1]).toBe("-1000");
    expect(antiGreedy[3]).toBe("||||||||");
    expect(Number(antiGreedy[2])).toBeGreaterThan(20);
    expect(Number(rows[4]![2])).toBeLessThan(1);
  });

  it("runs several models with one seed, one after the other, and prints them side by side", async () => {
    const spm = await realVocabularyModel("llama-spm");
    const args = ["--temp", "-1", "--temp", "1", "--max-tokens", "6", "--seed", "5", "Once upon a time"];
    const { code, stdout } = await weird(["--model", testModelPath(), "--model", spm, ...args]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^Once upon a time … \(seed 5, 6 tokens; weirdness = mean surprisal at T = 1, nats\/token\)\n/,
    );
    const rows = stdout
      .split("\n")
      .filter(line => line.includes("│"))
      .map(row => row.split("│").map(cell => cell.trim()));
    expect(rows[0]).toEqual(["model", "T", "β", "weirdness", "continuation"]);
    const spmName = spm.split("/").pop()!;
    expect(rows.slice(1).map(row => row.slice(0, 3))).toEqual([
      ["stories260K.gguf", "-1", "-1"],
      ["stories260K.gguf", "1", "1"],
      [spmName, "-1", "-1"],
      [spmName, "1", "1"],
    ]);
    // Each model's runs are exactly what it gives alone with that seed.
    const alone = async (model: string) =>
      (await weird(["--model", model, "--json", ...args])).stdout
        .trim()
        .split("\n")
        .map(line => (JSON.parse(line) as { text: string }).text);
    const texts = [...(await alone(testModelPath())), ...(await alone(spm))];
    expect(rows.slice(1).map(row => row[4])).toEqual(texts.map(text => visibleText(text).replace(/\n/g, "⏎").trim()));
    expect(texts[0]).not.toBe(texts[2]); // two models, two continuations
  });

  it("refuses a chart of several models' runs", async () => {
    const { code, stderr } = await weird(["--model", "a.gguf", "--model", "b.gguf", "--chart-tokens", "x.png", "Once"]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe("weird: --chart and --chart-tokens draw one model's runs: give one --model.");
  });

  it("limits the tokens to one script with --vocab, and says so in the JSON", async () => {
    const { code, stdout } = await weird([
      "--model",
      testModelPath(),
      "--json",
      "--vocab",
      "ascii",
      "--temp=-1",
      "--max-tokens",
      "24",
      "--seed",
      "3",
      "Once",
    ]);
    expect(code).toBe(0);
    const line = JSON.parse(stdout) as { vocab: string; text: string; tokens: number[] };
    expect(line.vocab).toBe("ascii");
    expect(line.tokens).toHaveLength(24);
    expect(line.text).toMatch(/^[\u0020-\u007E\t\n\r]+$/);
  });

  it("draws the sweep chart into a PNG file", async () => {
    const chart = join(temporaryFolder(), "sweep.png");
    const { code, stdout } = await weird([
      "--model",
      testModelPath(),
      "--sweep",
      "--max-tokens",
      "4",
      "--chart",
      chart,
      "Once upon a time",
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(`chart: ${chart}`);
    const png = readFileSync(chart);
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
  });

  it("samples on a schedule, says where it crosses zero and charts it", async () => {
    const chart = join(temporaryFolder(), "schedule.png");
    const { code, stdout } = await weird([
      "--model",
      testModelPath(),
      "--schedule",
      "0.001/-0.001@2",
      "--max-tokens",
      "6",
      "--seed",
      "1",
      "--chart-tokens",
      chart,
      "Once upon a time",
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^schedule 0\.001\/-0\.001@2 {2}seed 1\n/);
    expect(stdout).toContain("[6 tokens, crosses zero at token 2, 3, 4, 5, 6, maxTokens");
    expect(readFileSync(chart).subarray(1, 4).toString("latin1")).toBe("PNG");
    const json = await weird(["--model", testModelPath(), "--json", "--schedule=1..-1", "--max-tokens", "3", "hi"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ schedule: "1..-1", temperatures: [1, 100, -1], temperature: 1 });
  });

  it("draws where one output turned weird into a PNG sized for its tokens", async () => {
    const chart = join(temporaryFolder(), "tokens.png");
    const { code, stdout } = await weird([
      "--model",
      testModelPath(),
      "--temp=-0.001",
      "--max-tokens",
      "100",
      "--chart-tokens",
      chart,
      "Once upon a time",
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`token chart: ${chart} \\(\\d+ ms\\)`));
    const png = readFileSync(chart);
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(png.readUInt32BE(16)).toBe(120 + 16 * 100); // one column per generated token
  });
});

describe("weird with bad input", () => {
  it.each([
    [["--temp", "abc", "hi"], /^weird: Temperature must be a number, got "abc"\.$/],
    [["--temp", "NaN", "hi"], /^weird: Temperature must be a number, got "NaN"\.$/],
    [["--temp=-Infinity", "hi"], /^weird: Temperature must be a finite number, got -Infinity\.$/],
    [["--temp", "1000", "hi"], /^weird: Temperature must be between -100 and 100, got 1000\.$/],
    [["--max-tokens", "0", "hi"], /^weird: Max tokens must be a whole number from 1 to 512, got 0\.$/],
    [["--seed", "-1", "hi"], /^weird: Seed must be a whole number from 0 to 4294967295, got -1\.$/],
    [["--temp", "1"], /^weird: No prompt given\./],
    [["--chart", "x.png", "hi"], /^weird: --chart draws a sweep: add --sweep\.$/],
    [["--schedule", "1..", "hi"], /^weird: "1\.\." is not a schedule\. Write A\.\.B/],
    [["--schedule", "1..-1", "--temp", "1", "hi"], /^weird: --schedule replaces the temperature/],
    [["--sweep", "--chart-tokens", "x.png", "hi"], /^weird: --chart-tokens draws one output: give one temperature/],
    [["--vocab", "klingon", "hi"], /^weird: Vocabulary must be one of any, ascii, latin, .*, got "klingon"\.$/],
    [["--vocab", "greek", "hi"], /^weird: The greek vocabulary leaves nothing to sample with stories260K\.gguf/],
  ])("%j fails with one clear line and exit code 2", async (args, message) => {
    const { code, stderr } = await weird(["--model", testModelPath(), ...args]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr.trim()).toMatch(message);
  });

  it("names a missing model file", async () => {
    const { code, stderr } = await weird(["--model", "/nowhere/model.gguf", "hi"]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe("weird: Model file not found: /nowhere/model.gguf (set MODEL or pass --model)");
  });

  it("says when no model is given at all", async () => {
    const { code, stderr } = await weird(["hi"]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe("weird: No model given: pass --model PATH or set MODEL.");
  });

  it("refuses a file that is not GGUF", async () => {
    const fake = join(temporaryFolder(), "model.gguf");
    writeFileSync(fake, "not a model");
    const { code, stderr } = await weird(["--model", fake, "hi"]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`weird: ${fake} is not a GGUF model file (no GGUF magic bytes)`);
  });

  it("reports invalid environment settings all at once", async () => {
    const { code, stderr } = await weird(["--model", testModelPath(), "hi"], {
      LLAMA_THREADS: "many",
      WORKER_CONCURRENCY: "0",
    });
    expect(code).toBe(1);
    expect(stderr).toContain("LLAMA_THREADS must be a whole number");
    expect(stderr).toContain("WORKER_CONCURRENCY must be a whole number");
  });
});
