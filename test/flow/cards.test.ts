// Result cards end to end: the real bot and worker with RESULT_LAYOUT=cards, through the fake
// Discord, which refuses what Discord refuses of a Components V2 message.
import { describe, expect, it } from "vitest";
import { ApplicationCommandOptionType, MessageFlags } from "discord.js";
import { NAME as CONTINUE } from "../../src/commands/continueBelowZero.js";
import { useFlow } from "../helpers/flow.js";
import type { RecordedRequest, StoredMessage } from "../helpers/fakeDiscord.js";
import { resultBody } from "../../src/discord/cards.js";
import type { OutputRecord } from "../../src/store/outputs.js";
import {
  botConfig,
  buttonPress,
  callbackOf,
  CHANNEL_ID,
  GUILD_ID,
  isFinal,
  messageCommand,
  originalOf,
  slashCommand,
  slashWeird,
  startBot,
  startWorker,
} from "../helpers/discordBot.js";

const flow = useFlow();

type Node = { type: number; content?: string; label?: string; custom_id?: string; components?: Node[] };
const flatten = (nodes: unknown[]): Node[] => (nodes as Node[]).flatMap(n => [n, ...flatten(n.components ?? [])]);
const textOf = (nodes: unknown[]) =>
  flatten(nodes)
    .filter(n => n.type === 10)
    .map(n => n.content)
    .join("\n");
const cards = () => botConfig(flow.discord.url, flow.prefix);
const edits = (token: string) => flow.discord.find("PATCH", originalOf(token));

/** A press of a button on the message as Discord holds it (its components and flags). */
function pressOn(stored: StoredMessage, customId: string, userId: string) {
  const raw = buttonPress(customId, { userId });
  flow.discord.bindToken(raw.token, stored.id);
  return { ...raw, message: { ...raw.message, components: stored.components, flags: stored.flags } };
}

const NOISY = [
  "Hey <@800000000000000009>, <@&700000000000000005> in <#900000000000000055>:",
  "**bold** __under__ ||spoiler|| `code` <:blob:123456789012345678> # heading",
  "@everyone [free nitro](https://example.com/phish) at <t:0:R>",
].join("\n");

describe("result cards", () => {
  it("continue a message full of mentions and markdown as a card, streamed, voted on, never pinging", async () => {
    flow.bot = await startBot({ ...cards(), layout: "cards" });
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = messageCommand(CONTINUE, {
      content: NOISY,
      mentions: [["800000000000000009", "ada"]],
    });
    flow.bot.inject(raw);
    const final = await flow.discord.waitFor(
      r => r.method === "PATCH" && originalOf(raw.token).test(r.path) && isFinal(r),
    );
    // Every edit of the deferred reply is a card, "Queued" first, accepted as Discord would.
    const streamed = edits(raw.token);
    expect(textOf(streamed[0]!.body!.components as unknown[])).toMatch(/^Queued at \*\*T = -0\.001/);
    expect(streamed.length).toBeGreaterThanOrEqual(3);
    for (const edit of streamed) {
      expect(edit.body?.flags).toBe(MessageFlags.IsComponentsV2);
      expect(edit.body).not.toHaveProperty("content");
      expect(edit.body?.allowed_mentions).toEqual({ parse: [] });
    }
    const text = textOf(final.body!.components as unknown[]);
    expect(text).toMatch(/^\*\*T = -0\.001 · β = -1000\*\* · 32 tokens \(max tokens\) · /);
    expect(text).toContain("Continuing https://discord.com/channels/");
    expect(text).toContain("\\*\\*bold\\*\\*");
    expect(text).toContain("\\@everyone");
    expect(text).toContain("\\# heading");
    expect(text).not.toMatch(/<@|<#|<:|<t:|\]\(/);
    expect(text).toMatch(/\*\*Weirdness \d+\.\d\d\*\* nats\/token · [▰▱]{10} /);
    const stored = flow.discord.messageById(`original-${raw.token}`)!;
    expect(stored.flags & MessageFlags.IsComponentsV2).toBeTruthy();
    expect(stored.content).toBe("");

    // A vote relabels its button and keeps the card whole.
    const vote = flatten(stored.components).find(n => n.custom_id?.startsWith("vote:"))!;
    const press = pressOn(stored, vote.custom_id!, "800000000000000055");
    flow.bot.inject(press);
    const update = await flow.discord.waitFor(r => callbackOf(press).test(r.path));
    expect(update.body).toMatchObject({ type: 7, data: { flags: MessageFlags.IsComponentsV2 } });
    const after = flow.discord.messageById(stored.id)!;
    expect(flatten(after.components).find(n => n.custom_id === vote.custom_id)!.label).toBe("Weird! · 1");
    expect(textOf(after.components)).toBe(textOf(stored.components));
    expect(flow.worker.logs.join("\n")).not.toMatch(/failed/);
  });

  it("take a vote on a card whose output was cut, its full text attached again", async () => {
    flow.bot = await startBot({ ...cards(), layout: "cards" });
    const record: OutputRecord = {
      id: "long-1",
      guildId: GUILD_ID,
      channelId: CHANNEL_ID,
      messageId: "",
      authorId: "800000000000000077",
      prompt: "Once upon a time",
      temperature: -1,
      maxTokens: 2000,
      seed: 3,
      model: "stories260K",
      text: "weird words ".repeat(500),
      createdAt: Date.now(),
      surprisal: 20.5,
      tokenCount: 1500,
      stopReason: "maxTokens",
    };
    const body = resultBody(record, "cards", 0);
    expect(body.attachment?.name).toBe("belowzero-long-1.txt");
    // As the worker shows it; Discord then holds its file component with the file's CDN url.
    const stored = flow.discord.seedMessage(CHANNEL_ID, {
      ...body,
      attachments: [{ id: 0, filename: body.attachment!.name }],
    });
    await flow.bot.ctx.outputs.save({ ...record, messageId: stored.id });
    const file = flatten(stored.components).find(n => n.type === 13) as unknown as { file: { url: string } };
    expect(file.file.url).toMatch(/^https:\/\/cdn\.discordapp\.com\/attachments\/.*belowzero-long-1\.txt$/);

    const press = pressOn(stored, "vote:long-1", "800000000000000055");
    flow.bot.inject(press);
    const update = await flow.discord.waitFor(r => callbackOf(press).test(r.path));
    expect(update.body).toMatchObject({ type: 7, data: { flags: MessageFlags.IsComponentsV2 } });
    expect(update.files).toEqual([{ name: "belowzero-long-1.txt", data: record.text }]);
    const after = flow.discord.messageById(stored.id)!;
    expect(flatten(after.components).find(n => n.custom_id === "vote:long-1")!.label).toBe("Weird! · 1");
    expect(textOf(after.components)).toBe(textOf(stored.components));
    expect(after.attachments.map(a => a.filename)).toEqual(["belowzero-long-1.txt"]);
    expect(await flow.bot.ctx.outputs.voteCount("long-1")).toBe(1);
  });

  it("tell the member of a failure as a card, since a card can never be plain again", async () => {
    flow.bot = await startBot({ ...cards(), layout: "cards" });
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = slashWeird({ prompt: "Once upon a time", maxTokens: 200 });
    flow.discord.failures.push({
      match: (r: RecordedRequest) => originalOf(raw.token).test(r.path) && isFinal(r),
      status: 403,
      body: { message: "Missing Permissions", code: 50013 },
      times: 1,
    });
    flow.bot.inject(raw);
    const notice = await flow.discord.waitFor(
      r =>
        originalOf(raw.token).test(r.path) && /generation failed/.test(textOf((r.body?.components as unknown[]) ?? [])),
    );
    // The reply had become a card while it streamed: a plain notice would be refused there.
    expect(edits(raw.token).some(edit => edit.body?.flags === MessageFlags.IsComponentsV2 && !isFinal(edit))).toBe(
      true,
    );
    expect(notice.body?.flags).toBe(MessageFlags.IsComponentsV2);
    const stored = flow.discord.messageById(`original-${raw.token}`)!;
    expect(textOf(stored.components)).toMatch(/^Sorry, this generation failed: Discord refused the result/);
  });

  it("stay plain for a sweep, whose table and chart read best as they are", async () => {
    flow.bot = await startBot({ ...cards(), layout: "cards" });
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = slashCommand("weird-sweep", {}, [
      { name: "prompt", type: ApplicationCommandOptionType.String, value: "Once upon a time" },
      { name: "max_tokens", type: ApplicationCommandOptionType.Integer, value: 8 },
    ]);
    flow.bot.inject(raw);
    const final = await flow.discord.waitFor(
      r => r.method === "PATCH" && originalOf(raw.token).test(r.path) && isFinal(r),
    );
    expect(String(final.body?.content)).toMatch(/^\*\*Sweep\*\* · 8 temperatures/);
    expect(final.body?.flags).toBeUndefined();
    expect(edits(raw.token).every(edit => edit.body?.flags === undefined)).toBe(true);
  });
});
