// Script-limited vocabularies: the definitions, and below zero the argmin over allowed tokens only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TOKEN_POLICY } from "../../src/engine/defaults.js";
import { Engine } from "../../src/engine/engine.js";
import { isAllowed, vocabularyAllows } from "../../src/engine/policy.js";
import { InvalidRequestError } from "../../src/engine/request.js";
import { allowsText, type Vocabulary } from "../../src/engine/vocabulary.js";
import { loadTestEngine, temporaryFolder } from "../helpers/engine.js";
import { oracleLimitChain } from "../helpers/oracle.js";
import { realVocabularyModel } from "../helpers/realVocabulary.js";

describe("the vocabularies' definitions", () => {
  it.each<[Vocabulary, string[], string[]]>([
    ["ascii", ["Hello, world!", " ", "\n", "x = 1;"], ["", "café", "\u00A0", "“quote”", "\uFFFD"]],
    ["latin", [" café", "Straße", "“naïve”…", "2024"], ["", "Привет", "日本", "\uFFFD", "😀"]],
    ["cyrillic", [" Привет,", "Хронологија", "«да»"], ["", "Kontrola", "Прі vet"]],
    ["greek", [" αβγ", "Ελλάδα."], ["abc", "Привет"]],
    ["cjk", ["日本語。", "ひらがな", "カタカナー", "한국어", "中文，"], ["abc", "αβ"]],
  ])("%s allows %j and refuses %j", (vocabulary, allowed, refused) => {
    for (const text of allowed) expect(allowsText(vocabulary, text), text).toBe(true);
    for (const text of refused) expect(allowsText(vocabulary, text), text).toBe(false);
  });

  it('"any" allows everything', () => {
    expect(allowsText("any", "")).toBe(true);
    expect(allowsText("any", "\uFFFD")).toBe(true);
  });
});

describe("a script vocabulary on LLaMA 2's real 32k vocabulary", () => {
  let engine: Engine;
  beforeAll(async () => {
    const model = await realVocabularyModel("llama-spm");
    engine = await Engine.load({ model, cacheDir: temporaryFolder(), gpu: false, threads: 1, contextSize: 128 });
  }, 120_000);
  afterAll(async () => {
    await engine?.dispose();
  });

  const oracleArgminChain = (vocabulary: Vocabulary, steps: number) =>
    oracleLimitChain(engine.model, engine.promptTokens("Once upon a time"), {
      belowZero: true,
      steps,
      allowed: token =>
        isAllowed(engine.model, token, DEFAULT_TOKEN_POLICY, true) && vocabularyAllows(engine.model, token, vocabulary),
    });

  it("under ascii, the T = −0.001 chain is the oracle's argmin over the allowed tokens", async () => {
    const run = (vocab: Vocabulary) =>
      engine.generate({ prompt: "Once upon a time", temperature: -0.001, maxTokens: 16, seed: 5, vocab });
    const ascii = await run("ascii");
    expect(ascii.vocab).toBe("ascii");
    expect(ascii.tokens).toEqual(await oracleArgminChain("ascii", 16));
    expect(ascii.text).toMatch(/^[\u0020-\u007E\t\n\r]+$/);
    // The limit bites: without it the chain is not ASCII.
    const any = await run("any");
    expect(any.text).not.toMatch(/^[\u0020-\u007E\t\n\r]+$/);
  });

  it.each<Vocabulary>(["cyrillic", "cjk", "greek"])("under %s, samples at T = −1 stay in the script", async vocab => {
    const result = await engine.generate({
      prompt: "Once upon a time",
      temperature: -1,
      maxTokens: 24,
      seed: 2,
      vocab,
    });
    expect(result.tokens).toHaveLength(24);
    for (const token of result.tokens) expect(vocabularyAllows(engine.model, token, vocab)).toBe(true);
  });
});

describe("a vocabulary that leaves nothing to sample", () => {
  it("is refused with a clear message, and an unknown name too", async () => {
    const engine = await loadTestEngine();
    try {
      const request = { prompt: "Once upon a time", temperature: -1, maxTokens: 4, seed: 1 };
      const cyrillic = engine.generate({ ...request, vocab: "cyrillic" });
      await expect(cyrillic).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(engine.generate({ ...request, vocab: "cyrillic" })).rejects.toThrow(
        /The cyrillic vocabulary leaves nothing to sample with stories260K.gguf/,
      );
      await expect(engine.generate({ ...request, vocab: "klingon" as Vocabulary })).rejects.toThrow(
        /Vocabulary must be one of any, ascii, latin/,
      );
      expect((await engine.generate({ ...request, vocab: "ascii" })).tokens).toHaveLength(4);
    } finally {
      await engine.dispose();
    }
  });
});
