import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ENVIRONMENT, EnvReader, renderEnvExample, type AnySetting } from "../src/environment.js";
import { CONFIGURATION_DOC, withEnvironmentTable } from "../scripts/env-docs.js";

const root = resolve(import.meta.dirname, "..");

describe("the environment table", () => {
  it("is what .env.example says (run npm run docs:env after changing it)", () => {
    expect(readFileSync(resolve(root, ".env.example"), "utf8")).toBe(renderEnvExample());
  });

  it("is what docs/configuration.md's table says (run npm run docs:env after changing it)", () => {
    const doc = readFileSync(CONFIGURATION_DOC, "utf8");
    expect(withEnvironmentTable(doc)).toBe(doc);
  });

  it("accepts every default it documents", () => {
    for (const [name, setting] of Object.entries(ENVIRONMENT) as Array<[string, AnySetting]>) {
      if (setting.fallback === undefined) continue;
      const reader = new EnvReader({ [name]: String(setting.fallback) });
      expect(reader.get(name as keyof typeof ENVIRONMENT)).toEqual(setting.fallback);
      expect(reader.problems).toEqual([]);
    }
  });

  it("names the setting, the accepted values and what it got", () => {
    const reader = new EnvReader({
      MAX_TOKENS_CAP: "9000",
      ALLOW_BYTE_TOKENS: "maybe",
      LLAMA_GPU_LAYERS: "-1",
      NATIVE_STEPS: "sometimes",
    });
    expect(reader.get("MAX_TOKENS_CAP")).toBe(512);
    expect(reader.get("ALLOW_BYTE_TOKENS")).toBe(false);
    expect(reader.get("LLAMA_GPU_LAYERS")).toBe("auto");
    expect(reader.get("NATIVE_STEPS")).toBe("auto");
    expect(reader.problems).toEqual([
      'MAX_TOKENS_CAP must be a whole number from 1 to 8192, got "9000"',
      'ALLOW_BYTE_TOKENS must be true or false, got "maybe"',
      'LLAMA_GPU_LAYERS must be auto, max or a whole number of layers from 0 to 10000, got "-1"',
      'NATIVE_STEPS must be auto, true or false, got "sometimes"',
    ]);
  });

  it("reads auto, or a boolean in any of its spellings, where auto is allowed", () => {
    const read = (raw: string) => new EnvReader({ NATIVE_STEPS: raw }).get("NATIVE_STEPS");
    expect(["auto", "AUTO"].map(read)).toEqual(["auto", "auto"]);
    expect(["1", "true", "on", "Yes"].map(read)).toEqual([true, true, true, true]);
    expect(["0", "false", "off", "No"].map(read)).toEqual([false, false, false, false]);
  });
});
