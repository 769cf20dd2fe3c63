import { describe, expect, it } from "vitest";
import { comparisonMessage, type ComparisonPartView, type ComparisonView } from "../../src/discord/compareMessages.js";
import { MESSAGE_LIMIT } from "../../src/discord/format.js";
import { MAX_COMPARISON_PARTS } from "../../src/store/comparisons.js";

const done = (i: number, text: string, label = `model${i}`): ComparisonPartView => ({
  label,
  temperature: -0.001 * (i + 1),
  outputId: `c-${i}`,
  state: { state: "done" },
  text,
  tokenCount: 32,
  surprisal: 20 + i,
  votes: i,
});

const view = (parts: ComparisonPartView[], prompt = "Once upon a time"): ComparisonView => ({
  id: "c",
  prompt,
  maxTokens: 32,
  seed: 7,
  parts,
});

const buttons = (body: ReturnType<typeof comparisonMessage>) =>
  body.components.flatMap(row => (row as { components: Array<{ label?: string; custom_id?: string }> }).components);

describe("comparison messages", () => {
  it("show each part where it stands, and a vote button only for the finished ones", () => {
    const body = comparisonMessage(
      view([
        done(0, "Хронологија"),
        { label: "b", temperature: 1, outputId: "c-1", state: { state: "running" } },
        { label: "c", temperature: 1, outputId: "c-2", state: { state: "waiting" } },
        {
          label: "d",
          temperature: 1,
          outputId: "c-3",
          state: { state: "failed", reason: "no worker serves d any more." },
        },
      ]),
    );
    expect(body.content).toBe(
      [
        "**Compare** · 4 results · 32 tokens each · seed 7 · weirdness in nats/token",
        "> Once upon a time",
        "**model0** · T = -0.001 · β = -1000 · weirdness 20.00 · 32 tokens",
        "```\nХронологија\n```",
        "**b** · T = 1 · β = 1 · generating…",
        "**c** · T = 1 · β = 1 · waiting in the queue…",
        "**d** · T = 1 · β = 1 · no worker serves d any more\\.",
      ].join("\n"),
    );
    expect(buttons(body)).toEqual([
      expect.objectContaining({ custom_id: "vote:c-0", label: "model0 · T = -0.001 · 0" }),
    ]);
    expect(body.attachment).toBeUndefined();
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it("fit 2000 characters at the most parts, with hostile texts, labels and prompt, and attach the full texts", () => {
    const hostile = "```@everyone <@1> **x** ||y|| ".repeat(300);
    const label = "m".repeat(64);
    const parts = Array.from({ length: MAX_COMPARISON_PARTS }, (_, i) => done(i, hostile, label));
    for (const prompt of ["*".repeat(3000), "\n".repeat(1000), "a"]) {
      const body = comparisonMessage(view(parts, prompt));
      expect(body.content.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
      // Fences stay paired: every text is inside its own code block.
      expect(body.content.match(/```/g)).toHaveLength(2 * MAX_COMPARISON_PARTS);
      expect(body.content).toMatch(/\*Texts cut to fit; the full texts are attached\.\*$/);
      expect(String(body.attachment?.data)).toContain(hostile);
      // Five buttons to a row, and labels within Discord's 80 characters.
      expect(body.components.map(row => (row as { components: unknown[] }).components.length)).toEqual([5, 1]);
      for (const button of buttons(body)) expect(button.label!.length).toBeLessThanOrEqual(80);
    }
  });

  it("keep every part's heading, with fences paired, when long labels and reasons crowd the message", () => {
    const failed = (i: number): ComparisonPartView => ({
      label: `${"*".repeat(63)}${i}`,
      temperature: -0.001 * (i + 1),
      outputId: `c-${i}`,
      state: { state: "failed", reason: "*_`|".repeat(200) },
    });
    const hostile = "```@everyone **x** ".repeat(300);
    for (const parts of [
      Array.from({ length: MAX_COMPARISON_PARTS }, (_, i) => failed(i)),
      Array.from({ length: MAX_COMPARISON_PARTS }, (_, i) => (i % 2 ? done(i, hostile, "m".repeat(64)) : failed(i))),
    ])
      for (const prompt of ["*".repeat(3000), "a"]) {
        const { content } = comparisonMessage(view(parts, prompt));
        expect(content.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
        // Each heading on its own line, the last one included, and every text inside its own code block.
        expect(content.match(/^\*\*.+\*\* · T = -0\.00\d/gm)).toHaveLength(MAX_COMPARISON_PARTS);
        const doneParts = parts.filter(p => p.state.state === "done").length;
        expect(content.match(/```/g)?.length ?? 0).toBe(2 * doneParts);
        // Each failed part keeps the start of its reason.
        expect(content.match(/ · β = [-\d.]+ · \\\*\\_/g)).toHaveLength(MAX_COMPARISON_PARTS - doneParts);
      }
  });

  it("give each cut text an equal share of the room", () => {
    const body = comparisonMessage(view([done(0, "a".repeat(3000)), done(1, "b".repeat(3000))]));
    const a = /a+…/.exec(body.content)![0].length;
    const b = /b+…/.exec(body.content)![0].length;
    expect(a).toBe(b);
    expect(a).toBeGreaterThan(700);
  });
});
