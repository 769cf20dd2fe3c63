// Bad input gets one clear error and the engine keeps working.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { NotGgufError } from "../../src/engine/gguf.js";
import { ModelNotFoundError } from "../../src/engine/modelFile.js";
import { InvalidRequestError } from "../../src/engine/request.js";
import { loadTestEngine, temporaryFolder } from "../helpers/engine.js";

let engine: Engine;
beforeAll(async () => {
  engine = await loadTestEngine({ limits: { maxAbsTemperature: 10, maxTokensCap: 100, maxPromptCharacters: 300 } });
});
afterAll(async () => {
  await engine?.dispose();
});

const valid = { prompt: "Once upon a time", temperature: -1, maxTokens: 5, seed: 1 };

describe("invalid requests", () => {
  it.each([
    ["NaN", NaN, /finite number/],
    ["+Infinity", Infinity, /finite number/],
    ["-Infinity", -Infinity, /finite number/],
    ["above the bound", 10.5, /between -10 and 10/],
    ["below the bound", -11, /between -10 and 10/],
    ["too close to zero", -1e-9, /at least 0.000001 away/],
  ])("rejects a temperature that is %s", async (_label, temperature, message) => {
    await expect(engine.generate({ ...valid, temperature })).rejects.toThrow(message);
    await expect(engine.generate({ ...valid, temperature })).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it.each([0, -3, 101, 2.5, NaN])("rejects max tokens %s", async maxTokens => {
    await expect(engine.generate({ ...valid, maxTokens })).rejects.toThrow(
      /Max tokens must be a whole number from 1 to 100/,
    );
  });

  it.each([-1, 1.5, 2 ** 32])("rejects seed %s", async seed => {
    await expect(engine.generate({ ...valid, seed })).rejects.toThrow(/Seed must be a whole number/);
  });

  it("rejects an empty or blank prompt and a prompt over the limit", async () => {
    await expect(engine.generate({ ...valid, prompt: "" })).rejects.toThrow("The prompt is empty.");
    await expect(engine.generate({ ...valid, prompt: " \n\t " })).rejects.toThrow("The prompt is empty.");
    await expect(engine.generate({ ...valid, prompt: "a".repeat(301) })).rejects.toThrow(
      /301 characters long; the limit is 300/,
    );
  });

  it("rejects a prompt that with the requested tokens would overflow the context", async () => {
    const small = await loadTestEngine({ contextSize: 64 });
    try {
      await expect(small.generate({ ...valid, prompt: "Once upon a time ".repeat(10), maxTokens: 60 })).rejects.toThrow(
        /does not fit the 64-token context/,
      );
    } finally {
      await small.dispose();
    }
  });

  it("still generates after all of that", async () => {
    const result = await engine.generate({ ...valid, maxTokens: 8 });
    expect(result.tokens).toHaveLength(8);
    expect(await engine.generate({ ...valid, temperature: -0 })).toMatchObject({ temperature: 0, beta: Infinity });
  });
});

describe("bad model files", () => {
  it("names a missing model file and how to set it", async () => {
    const missing = join(temporaryFolder(), "nope.gguf");
    const load = loadTestEngine({ model: missing });
    await expect(load).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(loadTestEngine({ model: missing })).rejects.toThrow(
      `Model file not found: ${missing} (set MODEL or pass --model)`,
    );
  });

  it("refuses a file that is not a GGUF model", async () => {
    const fake = join(temporaryFolder(), "fake.gguf");
    writeFileSync(fake, "<html>404 Not Found</html>");
    await expect(loadTestEngine({ model: fake })).rejects.toBeInstanceOf(NotGgufError);
    await expect(loadTestEngine({ model: fake })).rejects.toThrow(
      /fake.gguf is not a GGUF model file \(no GGUF magic bytes\)/,
    );
  });

  it("refuses a truncated GGUF file without crashing", async () => {
    const truncated = join(temporaryFolder(), "truncated.gguf");
    const header = Buffer.alloc(24);
    header.write("GGUF", 0, "latin1");
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(10n, 8);
    header.writeBigUInt64LE(5n, 16);
    writeFileSync(truncated, header);
    await expect(loadTestEngine({ model: truncated })).rejects.toThrow(
      /is not a GGUF model file \(the header is truncated\)/,
    );
  });
});
