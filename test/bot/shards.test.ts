// Shards share nothing but Redis: two bot processes on one Redis keep one member's cooldown,
// one server's queue cap and one output's votes, whichever process sees the interaction.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { loadTestEngine } from "../helpers/engine.js";
import { FakeDiscord, type RecordedRequest } from "../helpers/fakeDiscord.js";
import { buttonPress, deleteKeys, slashWeird, startWorker, testPrefix } from "../helpers/discordBot.js";

const root = resolve(import.meta.dirname, "../..");
let engine: Engine;
let discord: FakeDiscord;
const prefix = testPrefix();
const bots: ChildProcessWithoutNullStreams[] = [];

function startBotProcess(): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(root, "test/helpers/botProcess.ts")], {
    cwd: root,
    env: { ...process.env, BZ_API_URL: discord.url, BZ_PREFIX: prefix, BZ_COOLDOWN_MS: "60000", BZ_MAX_PER_GUILD: "2" },
  });
  bots.push(child);
  return new Promise((ready, fail) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("bot ready") && ready(child));
    child.on("exit", code => fail(new Error(`bot process exited with ${code}`)));
  });
}
const send = (bot: ChildProcessWithoutNullStreams, raw: object) => bot.stdin.write(`${JSON.stringify(raw)}\n`);

beforeAll(async () => {
  engine = await loadTestEngine();
  discord = await new FakeDiscord().start();
});
afterAll(async () => {
  await Promise.all(bots.map(bot => new Promise(resolve => (bot.on("exit", resolve), bot.stdin.end()))));
  await discord?.stop();
  await deleteKeys(prefix);
  await engine?.dispose();
});

const callbackOf = (raw: { id: string; token: string }) => (r: RecordedRequest) =>
  r.path === `/interactions/${raw.id}/${raw.token}/callback`;
const contentOf = (r: RecordedRequest) => (r.body!.data as { content: string }).content;

describe("two bot processes on one Redis", () => {
  it("share cooldowns, the server's queue cap and votes", async () => {
    const [a, b] = await Promise.all([startBotProcess(), startBotProcess()]);

    // A member's cooldown, taken through A, holds in B.
    const first = slashWeird({ prompt: "Once upon a time", temp: -1, maxTokens: 8, userId: "800000000000000301" });
    send(a, first);
    expect((await discord.waitFor(callbackOf(first))).body?.type).toBe(5);
    const again = slashWeird({ prompt: "again", userId: "800000000000000301" });
    send(b, again);
    expect(contentOf(await discord.waitFor(callbackOf(again)))).toMatch(/^Easy there: you can ask again in \d+ s\.$/);

    // The server's cap of 2 counts jobs queued through either process.
    const second = slashWeird({ prompt: "second", userId: "800000000000000302" });
    send(b, second);
    expect((await discord.waitFor(callbackOf(second))).body?.type).toBe(5);
    const third = slashWeird({ prompt: "third", userId: "800000000000000303" });
    send(a, third);
    expect(contentOf(await discord.waitFor(callbackOf(third)))).toBe(
      "This server's queue is full (2 of 2 generations waiting or running). Please try again in a minute.",
    );

    // Votes on one output, from both processes, add up.
    const worker = startWorker(engine, discord.url, prefix);
    try {
      const final = await discord.waitFor(
        r => r.path.includes(first.token) && Array.isArray(r.body?.components) && r.body.components.length > 0,
      );
      const voteId = (final.body!.components as Array<{ components: Array<{ custom_id: string }> }>)[0]!.components[0]!
        .custom_id;
      const labels: string[] = [];
      for (const [bot, userId] of [
        [a, "800000000000000311"],
        [b, "800000000000000312"],
        [a, "800000000000000312"], // takes back the vote given through B
      ] as const) {
        const press = buttonPress(voteId, { userId });
        send(bot, press);
        const update = await discord.waitFor(callbackOf(press));
        labels.push(
          (update.body!.data as { components: Array<{ components: Array<{ label: string }> }> }).components[0]!
            .components[0]!.label,
        );
      }
      expect(labels).toEqual(["Weird! · 1", "Weird! · 2", "Weird! · 1"]);
    } finally {
      await worker.close();
    }
  });
});
