// /weird-sweep end to end: the real bot and worker, real Redis, the real engine and chart,
// the fake Discord.
import { ApplicationCommandOptionType, InteractionResponseType, MessageFlags } from "discord.js";
import { describe, expect, it } from "vitest";
import { DEFAULT_SWEEP_TEMPERATURES } from "../../src/engine/sweep.js";
import { type RecordedRequest } from "../helpers/fakeDiscord.js";
import { useFlow } from "../helpers/flow.js";
import { APPLICATION_ID, botConfig, buttonPress, slashCommand, startBot, startWorker } from "../helpers/discordBot.js";

const flow = useFlow();

const { String: text, Integer: integer } = ApplicationCommandOptionType;
const sweep = (prompt: string, maxTokens: number, seed?: number) =>
  slashCommand("weird-sweep", {}, [
    { name: "prompt", type: text, value: prompt },
    { name: "max_tokens", type: integer, value: maxTokens },
    ...(seed === undefined ? [] : [{ name: "seed", type: integer, value: seed }]),
  ]);
const isFinal = (r: RecordedRequest) => Array.isArray(r.body?.components) && r.body.components.length > 0;

describe("/weird-sweep", () => {
  it("is one job and one message: a row per temperature with its weirdness, the chart, a vote button per row", async () => {
    flow.bot = await startBot({
      ...botConfig(flow.discord.url, flow.prefix),
      queue: { ...botConfig(flow.discord.url, flow.prefix).queue, cooldownMs: 60_000 },
    });
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = sweep("Once upon a time", 6, 3);
    flow.bot.inject(raw);
    const final = await flow.discord.waitFor(
      r =>
        r.method === "PATCH" && r.path === `/webhooks/${APPLICATION_ID}/${raw.token}/messages/@original` && isFinal(r),
      55_000,
    );
    expect(await flow.bot.ctx.queue.count()).toBeLessThanOrEqual(1);
    const content = String(final.body?.content);
    expect(content.length).toBeLessThanOrEqual(2000);
    expect(content).toMatch(/^\*\*Sweep\*\* · 8 temperatures · 6 tokens each/);
    for (const t of DEFAULT_SWEEP_TEMPERATURES) expect(content).toMatch(new RegExp(`^ *${t} │`, "m"));
    // Anti-greedy is far weirder than greedy: the table carries the score.
    const weirdness = (t: number) => Number(new RegExp(`^ *${t} │[^│]+│ *([\\d.]+) │`, "m").exec(content)![1]);
    expect(weirdness(-0.001)).toBeGreaterThan(weirdness(0.001) + 10);
    expect(final.files).toEqual([{ name: "belowzero-sweep.png", data: expect.stringContaining("PNG") }]);
    const buttons = (
      final.body!.components as Array<{ components: Array<{ custom_id: string; label: string }> }>
    ).flatMap(row => row.components);
    expect(buttons.map(b => b.label)).toEqual(DEFAULT_SWEEP_TEMPERATURES.map(t => `T = ${t} · 0`));
    // Each row is an output of its own, with its score, so it can be voted on like any other.
    for (const [i, button] of buttons.entries()) {
      const id = button.custom_id.slice("vote:".length);
      // The rows learn the message's id once Discord has answered the post.
      await expect.poll(async () => (await flow.bot!.ctx.outputs.get(id))?.messageId).toBe(`original-${raw.token}`);
      const record = await flow.bot.ctx.outputs.get(id);
      expect(record).toMatchObject({
        temperature: DEFAULT_SWEEP_TEMPERATURES[i],
        seed: 3,
        messageId: `original-${raw.token}`,
      });
      expect(record!.surprisal).toBeGreaterThan(0);
    }
    // A vote on one row keeps the whole sweep's buttons, with that row's count.
    const press = buttonPress(buttons[5]!.custom_id, { userId: "800000000000000009" });
    flow.bot.inject(press);
    const voted = await flow.discord.waitFor(r => r.path === `/interactions/${press.id}/${press.token}/callback`);
    expect(voted.body?.type).toBe(InteractionResponseType.UpdateMessage);
    const labels = (
      voted.body!.data as { components: Array<{ components: Array<{ label: string }> }> }
    ).components.flatMap(row => row.components.map(b => b.label));
    expect(labels).toEqual(DEFAULT_SWEEP_TEMPERATURES.map((t, i) => `T = ${t} · ${i === 5 ? 1 : 0}`));
    // One request against the cooldown.
    const again = sweep("Once upon a time", 6);
    flow.bot.inject(again);
    const refused = await flow.discord.waitFor(r => r.path === `/interactions/${again.id}/${again.token}/callback`);
    expect(refused.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: expect.stringMatching(/^Easy there/), flags: MessageFlags.Ephemeral },
    });
  });
});
