import { describe, expect, it } from "vitest";
import { MESSAGE_LIMIT, parseCustomId, resultMessage, type ResultView } from "../../src/discord/format.js";

const view: ResultView = {
  outputId: "abc",
  prompt: "p",
  temperature: -0.001,
  seed: 1,
  model: "m.gguf",
  text: "x",
  tokenCount: 1,
  stopReason: "maxTokens",
  votes: 0,
  surprisal: 1.5,
};

describe("result messages", () => {
  it("keep hostile output inside its code block: fences broken, controls visible, mentions inert", () => {
    const body = resultMessage({ ...view, text: "```\n@everyone <@123> **bold**\u0000\u202E" });
    expect(body.content).toContain("`\u200b`\u200b`\n@everyone <@123> **bold**␀⟨U+202E⟩\n```");
    expect(body.content.match(/```/g)).toHaveLength(2);
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it("stay within 2000 characters and attach the full text when the output is long", () => {
    const text = "Хронологија ".repeat(400);
    const body = resultMessage({ ...view, text });
    expect(body.content.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(body.content).toMatch(/…\n```\n\*Output truncated; the full text is attached\.\*$/);
    expect(body.attachment).toEqual({
      name: "belowzero-abc.txt",
      data: text,
      contentType: "text/plain; charset=utf-8",
    });
    expect(resultMessage({ ...view, text: "short" }).attachment).toBeUndefined();
  });

  it("stay within 2000 characters even when escaping makes the prompt many times longer", () => {
    for (const prompt of ["\u200b".repeat(300), "*".repeat(3000), "\n".repeat(1000)]) {
      const body = resultMessage({ ...view, prompt, text: "y".repeat(3000) });
      expect(body.content.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
      expect(body.content).toContain("y".repeat(100));
    }
  });

  it("show T and β, and an empty output as an empty block", () => {
    expect(resultMessage({ ...view, temperature: 0, text: "" }).content).toMatch(
      /^\*\*T = 0 · β = ∞\*\*[\s\S]*```\n \n```$/,
    );
  });
});

describe("button ids", () => {
  it("parse what the buttons carry and reject anything else", () => {
    expect(parseCustomId("vote:1b2c-3d")).toEqual({ action: "vote", outputId: "1b2c-3d" });
    expect(parseCustomId("flip:x")).toEqual({ action: "flip", outputId: "x" });
    expect(parseCustomId("delete:x")).toBeUndefined();
    expect(parseCustomId("vote:")).toBeUndefined();
  });
});
