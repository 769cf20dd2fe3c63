// The bench's real-size models (helpers/syntheticModel.ts, writeRealSizeModel) at a tiny shape:
// every matrix of the type asked for, grouped-query attention as TinyLlama has it, LLaMA 2's real
// vocabulary, written once and then reused, and llama.cpp loads and samples them at both signs.
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { GgmlType, readGguf } from "../../src/engine/gguf.js";
import { temporaryFolder } from "../helpers/engine.js";
import { REAL_VOCABULARIES, vocabularyFile } from "../helpers/realVocabulary.js";
import { writeRealSizeModel, type RealSizeType } from "../helpers/syntheticModel.js";

const SHAPE = { embeddingLength: 128, layers: 2, feedForwardLength: 256, heads: 4, kvHeads: 2 };

describe.each(["F16", "Q8_0", "Q4_0"] as RealSizeType[])("a real-size model writer, %s", type => {
  it("writes every matrix as that type, once, and llama.cpp samples it at T = ±1", async () => {
    const path = join(temporaryFolder(), `model-${type}.gguf`);
    await writeRealSizeModel(path, SHAPE, { tokenizer: vocabularyFile("llama-spm"), type });
    const written = statSync(path).mtimeMs;
    await writeRealSizeModel(path, SHAPE, { tokenizer: vocabularyFile("llama-spm"), type });
    expect(statSync(path).mtimeMs).toBe(written); // kept, not written again

    const file = readGguf(path);
    const tensors = [...file.tensors.values()];
    const matrices = tensors.filter(tensor => tensor.dims.length === 2);
    expect(matrices).toHaveLength(2 + 7 * SHAPE.layers);
    expect(new Set(matrices.map(tensor => tensor.type))).toEqual(new Set([GgmlType[type]]));
    expect(file.tensors.get("blk.0.attn_k.weight")?.dims).toEqual([128, 64]); // 2 of 4 heads' width
    expect(file.tensors.get("output.weight")?.dims).toEqual([128, REAL_VOCABULARIES["llama-spm"]]);

    const engine = await Engine.load({
      model: path,
      cacheDir: temporaryFolder(),
      gpu: false,
      threads: 1,
      contextSize: 128,
    });
    try {
      for (const temperature of [1, -1]) {
        const result = await engine.generate({ prompt: "Once upon a time", temperature, maxTokens: 8, seed: 1 });
        expect(result.tokens).toHaveLength(8);
        expect(Number.isFinite(result.surprisal)).toBe(true);
      }
    } finally {
      await engine.dispose();
    }
  }, 120_000);
});
