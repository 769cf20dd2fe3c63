// Result cards (Components V2) against Discord's limits, as the fake Discord checks them.
import { describe, expect, it } from "vitest";
import { MessageFlags } from "discord.js";
import { progressCard, resultCard, weirdnessMeter, withVoteCounts } from "../../src/discord/cards.js";
import { noticeMessage, type ResultView } from "../../src/discord/format.js";
import { invalidMessage } from "../helpers/fakeDiscord.js";

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
  surprisal: 26.4,
};

type Node = { type: number; content?: string; components?: Node[]; accessory?: Node; label?: string };
const flatten = (nodes: Node[]): Node[] =>
  nodes.flatMap(n => [n, ...flatten(n.components ?? []), ...(n.accessory ? [n.accessory] : [])]);
const textOf = (nodes: unknown[]) =>
  flatten(nodes as Node[])
    .filter(n => n.type === 10)
    .map(n => n.content)
    .join("\n");
/** Characters of text displays together, as Discord counts them. */
const textLength = (nodes: unknown[]) =>
  flatten(nodes as Node[]).reduce((n, c) => n + (c.type === 10 ? (c.content ?? "").length : 0), 0);
/** The body as it goes to Discord: what the worker's REST call sends. */
const wire = (body: ReturnType<typeof resultCard>) => ({
  flags: body.flags,
  components: body.components,
  attachments: body.attachment ? [{ id: 0, filename: body.attachment.name }] : [],
});

describe("result cards", () => {
  it("are Components V2 with no content, hostile text inert, and the buttons inside", () => {
    const body = resultCard({
      ...view,
      prompt: "<@123> **bold** [x](https://e.com)",
      text: "```\n@everyone <@123> **bold**\u0000",
    });
    expect(body.flags).toBe(MessageFlags.IsComponentsV2);
    expect(body.content).toBe("");
    expect(body.allowed_mentions).toEqual({ parse: [] });
    const text = textOf(body.components);
    expect(text).toContain("\\<\\@123\\> \\*\\*bold\\*\\* \\[x\\]\\(https\\:\\/\\/e\\.com\\)");
    expect(text).toContain("`\u200b`\u200b`\n@everyone <@123> **bold**␀\n```");
    expect(text.match(/```/g)).toHaveLength(2);
    expect(text).toContain("**Weirdness 26.40** nats/token · ▰▰▰▰▰▰▰▰▰▱ deeply weird");
    const buttons = flatten(body.components as Node[]).filter(n => n.type === 2);
    expect(buttons.map(b => b.label)).toEqual(["Weird! · 0", "Reroll", "Flip to T = 0.001", "Why weird?"]);
    expect(invalidMessage(wire(body))).toBeUndefined();
  });

  it("fit 4000 characters of text however long the output and prompt, attaching the full text", () => {
    for (const [prompt, text] of [
      ["p", "Хронологија ".repeat(1000)],
      ["*".repeat(2000), "`".repeat(6000)],
      ["\n".repeat(2000), "y".repeat(5000)],
    ]) {
      const body = resultCard({ ...view, prompt: prompt!, text: text! });
      expect(textLength(body.components)).toBeLessThanOrEqual(4000);
      expect(body.attachment?.data).toBe(text);
      expect(flatten(body.components as Node[]).some(n => n.type === 13)).toBe(true);
      expect(invalidMessage(wire(body))).toBeUndefined();
    }
    expect(resultCard({ ...view, text: "short" }).attachment).toBeUndefined();
    const progress = progressCard({ prompt: "p", temperature: -1 }, "z".repeat(9000), 3000);
    expect(textLength(progress.components)).toBeLessThanOrEqual(4000);
    expect(invalidMessage(wire(progress))).toBeUndefined();
  });

  it("keep the card when a vote changes its count", () => {
    const body = resultCard(view);
    const voted = withVoteCounts(body.components, new Map([["abc", 7]]));
    const labels = flatten(voted as Node[])
      .filter(n => n.type === 2)
      .map(b => b.label);
    expect(labels).toEqual(["Weird! · 7", "Reroll", "Flip to T = 0.001", "Why weird?"]);
    expect(textOf(voted)).toBe(textOf(body.components));
  });

  it("meter weirdness from ordinary to deeply weird", () => {
    expect(weirdnessMeter(0.45)).toBe("▱▱▱▱▱▱▱▱▱▱ ordinary");
    expect(weirdnessMeter(4.2)).toBe("▰▱▱▱▱▱▱▱▱▱ odd");
    expect(weirdnessMeter(99)).toBe("▰▰▰▰▰▰▰▰▰▰ deeply weird");
    expect(weirdnessMeter(null)).toBe("no tokens to weigh");
  });
});

describe("the fake Discord's check of Components V2", () => {
  const textDisplay = (content: string) => ({ type: 10, content });
  const v2 = MessageFlags.IsComponentsV2;
  it("refuses what Discord refuses", () => {
    expect(invalidMessage({ flags: v2, content: "hi", components: [textDisplay("a")] })).toMatch(/content/);
    expect(invalidMessage({ flags: v2, components: Array.from({ length: 41 }, () => textDisplay("a")) })).toMatch(
      /41 components/,
    );
    const nested = { type: 17, components: Array.from({ length: 39 }, () => textDisplay("a")) };
    expect(invalidMessage({ flags: v2, components: [nested] })).toBeUndefined();
    expect(
      invalidMessage({ flags: v2, components: [{ ...nested, components: [...nested.components, textDisplay("b")] }] }),
    ).toMatch(/41 components/);
    expect(
      invalidMessage({ flags: v2, components: [textDisplay("a".repeat(2000)), textDisplay("b".repeat(2001))] }),
    ).toMatch(/4001 characters/);
    expect(invalidMessage({ components: [textDisplay("a")] })).toMatch(/need the IS_COMPONENTS_V2 flag/);
    expect(invalidMessage({ flags: 0, content: "plain again" }, { flags: v2 })).toMatch(/cannot be removed/);
    expect(invalidMessage({ content: "more" }, { flags: v2 })).toMatch(/content cannot be used/);
    expect(invalidMessage({ flags: v2, components: [{ type: 13, file: { url: "attachment://x.txt" } }] })).toMatch(
      /attachments/,
    );
  });

  it("lets a plain reply become a card, and a notice on a card be a card", () => {
    expect(invalidMessage(wire(resultCard(view)), { flags: 0 })).toBeUndefined();
    // Why a notice must know the layout: on a card, a plain notice is refused.
    expect(invalidMessage({ ...noticeMessage("Sorry", "cards") }, { flags: v2 })).toBeUndefined();
    expect(invalidMessage({ ...noticeMessage("Sorry") }, { flags: v2 })).toMatch(/content cannot be used/);
  });
});
