// Both negation routes on synthetic LLaMA models: exact negation for float and quantized
// output layers, tied embeddings through an untied copy, caching, and clear refusals.
import { chmodSync, copyFileSync, existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { readGguf, type GgmlTypeName } from "../../src/engine/gguf.js";
import { negationDeviation } from "../../src/engine/readout.js";
import { CannotInvertError, prepareNegation, type NegationRoute } from "../../src/engine/negation.js";
import { temporaryFolder, testModelPath } from "../helpers/engine.js";
import { writeSyntheticModel, type SyntheticModelOptions } from "../helpers/syntheticModel.js";

async function syntheticModel(options: SyntheticModelOptions = {}): Promise<string> {
  const path = join(temporaryFolder(), "synthetic.gguf");
  await writeSyntheticModel(path, options);
  return path;
}

async function negationError(engine: Engine): Promise<{ worst: number; range: number }> {
  const tokens = engine.promptTokens("a b c");
  const positive = await engine.logitsAfter(tokens, "positive");
  const negated = await engine.logitsAfter(tokens, "negated");
  const { deviation, range } = negationDeviation(positive, negated);
  return { worst: deviation, range };
}

async function withEngine<T>(
  model: string,
  use: (engine: Engine) => Promise<T>,
  route: NegationRoute = "auto",
): Promise<T> {
  const engine = await Engine.load({
    model,
    cacheDir: temporaryFolder(),
    gpu: false,
    threads: 1,
    contextSize: 128,
    negation: { route },
  });
  try {
    return await use(engine);
  } finally {
    await engine.dispose();
  }
}

const ADAPTER_TYPES: GgmlTypeName[] = ["F32", "F16", "Q8_0", "Q4_K", "Q6_K"];
const COPY_TYPES: GgmlTypeName[] = [
  "F32",
  "F16",
  "Q4_0",
  "Q4_1",
  "Q5_0",
  "Q5_1",
  "Q8_0",
  "Q2_K",
  "Q3_K",
  "Q4_K",
  "Q5_K",
  "Q6_K",
];

describe("negated logits", () => {
  it.each([
    ...ADAPTER_TYPES.map(type => ["adapter", type] as const),
    ...COPY_TYPES.map(type => ["copy", type] as const),
  ])("are exact through the %s route for a %s output layer", async (route, outputType) => {
    const model = await syntheticModel({ outputType, vocabularySize: 1024, embeddingLength: 256 });
    const { worst, range } = await withEngine(
      model,
      async engine => {
        expect(engine.negation.route).toBe(route);
        return negationError(engine);
      },
      route,
    );
    expect(range).toBeGreaterThan(0.5);
    expect(worst).toBeLessThan(1e-4 * range);
  });

  it.each(["adapter", "copy"] as const)(
    "work for a tied-embedding model through a cached untied copy (%s route)",
    async route => {
      const model = await syntheticModel({ tied: true });
      expect(readGguf(model).tensors.has("output.weight")).toBe(false);
      const { worst } = await withEngine(model, negationError, route);
      expect(worst).toBeLessThan(1e-4);
      const untied = readGguf(join(model, "..", "synthetic.belowzero-untied.gguf"));
      expect(untied.tensors.get("output.weight")?.dims).toEqual(untied.tensors.get("token_embd.weight")?.dims);
    },
  );

  it.each(["adapter", "copy"] as const)(
    "below zero, the %s route picks the oracle's least likely token on a 32000-token vocabulary",
    async route => {
      const model = await syntheticModel({ vocabularySize: 32000, embeddingLength: 64 });
      await withEngine(
        model,
        async engine => {
          const tokens = engine.promptTokens("a b");
          const logits = await engine.logitsAfter(tokens, "positive");
          const result = await engine.generate({ prompt: "a b", temperature: -0.001, maxTokens: 1, seed: 1 });
          const allowed = [...logits.keys()].filter(t => t >= 259); // normal tokens only
          const argmin = allowed.reduce((best, t) => (logits[t]! < logits[best]! ? t : best));
          expect(result.tokens).toEqual([argmin]);
        },
        route,
      );
    },
  );

  it('"auto" copies small models and uses the adapter above the size limit', async () => {
    const model = await syntheticModel();
    expect((await prepareNegation(model, temporaryFolder())).route).toBe("copy");
    expect((await prepareNegation(model, temporaryFolder(), { route: "auto", copyMaxBytes: 1000 })).route).toBe(
      "adapter",
    );
  });
});

const ADAPTER = { route: "adapter", copyMaxBytes: 0 } as const;
const derivedFile = (files: Awaited<ReturnType<typeof prepareNegation>>) =>
  files.route === "adapter" ? files.adapterPath : files.negatedModelPath;

describe("the derived files", () => {
  it.each(["adapter", "copy"] as const)(
    "go to the cache folder when the model's folder is read-only, and are reused (%s)",
    async route => {
      const model = await syntheticModel();
      const folder = join(model, "..");
      chmodSync(folder, 0o555);
      const cache = temporaryFolder();
      const first = derivedFile(await prepareNegation(model, cache, { route, copyMaxBytes: 0 }));
      expect(first).toBe(
        join(cache, route === "adapter" ? "synthetic.belowzero-negate.gguf" : "synthetic.belowzero-negated.gguf"),
      );
      expect(readdirSync(folder)).toEqual(["synthetic.gguf"]);
      const written = statSync(first).mtimeMs;
      const second = derivedFile(await prepareNegation(model, cache, { route, copyMaxBytes: 0 }));
      expect(second).toBe(first);
      expect(statSync(second).mtimeMs).toBe(written);
    },
  );

  it.each(["adapter", "copy"] as const)(
    "start every tensor on a 64-byte boundary, whatever the model's own alignment (%s)",
    async route => {
      const model = join(temporaryFolder(), "stories260K.gguf"); // its tensors sit at 32 mod 64
      copyFileSync(testModelPath(), model);
      const source = readGguf(model);
      expect(source.dataOffset % 64).toBe(32);
      const derived = readGguf(
        derivedFile(await prepareNegation(model, temporaryFolder(), { route, copyMaxBytes: 0 })),
      );
      expect(derived.metadata.get("general.alignment")).toBe(64);
      for (const tensor of derived.tensors.values()) expect((derived.dataOffset + tensor.offset) % 64).toBe(0);
      if (route === "copy") {
        // The copy keeps every other metadata entry as it was.
        expect(new Map([...derived.metadata].filter(([key]) => !key.startsWith("belowzero.")))).toEqual(
          new Map([...source.metadata, ["general.alignment", 64]]),
        );
      }
    },
  );

  it.each(["adapter", "copy"] as const)(
    "keep a larger alignment of the model's, and load in llama.cpp exactly negated (%s)",
    async route => {
      // 16-wide rows: tensor sizes that are not multiples of 128, so the padding matters.
      const model = await syntheticModel({ alignment: 128, embeddingLength: 16, heads: 2, tied: true });
      const files = await prepareNegation(model, temporaryFolder(), { route, copyMaxBytes: 0 });
      for (const path of [files.modelPath, derivedFile(files)]) {
        const derived = readGguf(path);
        expect(derived.alignment).toBe(128);
        for (const tensor of derived.tensors.values()) expect((derived.dataOffset + tensor.offset) % 128).toBe(0);
      }
      const { worst } = await withEngine(model, negationError, route);
      expect(worst).toBeLessThan(1e-4);
    },
  );

  it("are written next to the model when that folder is writable", async () => {
    const model = await syntheticModel();
    const adapterPath = derivedFile(await prepareNegation(model, temporaryFolder(), ADAPTER));
    expect(adapterPath).toBe(join(model, "..", "synthetic.belowzero-negate.gguf"));
    const adapter = readGguf(adapterPath);
    expect(adapter.metadata.get("general.type")).toBe("adapter");
    expect(adapter.metadata.get("adapter.lora.alpha")).toBe(64);
    expect(adapter.tensors.get("output.weight.lora_a")?.dims).toEqual([64, 64]);
  });

  it.each(["adapter", "copy"] as const)(
    "are rewritten when the model file changes, not reused stale (%s)",
    async route => {
      const model = await syntheticModel({ seed: 1 });
      const first = derivedFile(await prepareNegation(model, temporaryFolder(), { route, copyMaxBytes: 0 }));
      copyFileSync(await syntheticModel({ seed: 2 }), model);
      utimesSync(model, new Date(), new Date(Date.now() + 5000));
      const { worst } = await withEngine(model, negationError, route);
      expect(worst).toBeLessThan(1e-4);
      expect(existsSync(first)).toBe(true);
    },
  );
});

describe("models that cannot be inverted", () => {
  it("refuses an output layer with a bias, naming the reason", async () => {
    const model = await syntheticModel({ outputBias: true });
    await expect(prepareNegation(model, temporaryFolder())).rejects.toBeInstanceOf(CannotInvertError);
    await expect(prepareNegation(model, temporaryFolder())).rejects.toThrow(
      /Cannot sample synthetic.gguf below zero: its output layer has a bias/,
    );
  });
});
