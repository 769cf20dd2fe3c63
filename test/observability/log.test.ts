// Structured logs: one JSON object per line, the job and server ids on job lines, and no
// token in any of it, through a real flow and real Discord errors.
import { DiscordAPIError } from "@discordjs/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { createLogger, logFunction, redactSecrets } from "../../src/observability/log.js";
import { createRest, ReplyTarget } from "../../src/worker/reply.js";
import { loadTestEngine } from "../helpers/engine.js";
import { FakeDiscord } from "../helpers/fakeDiscord.js";
import {
  APPLICATION_ID,
  botConfig,
  CHANNEL_ID,
  deleteKeys,
  GUILD_ID,
  slashWeird,
  startBot,
  startWorker,
  testPrefix,
} from "../helpers/discordBot.js";

const BOT_TOKEN = "test-token"; // what the helpers' bot and worker authenticate with
let engine: Engine;
let discord: FakeDiscord;
const prefix = testPrefix();

beforeAll(async () => {
  engine = await loadTestEngine();
  discord = await new FakeDiscord().start();
});
afterAll(async () => {
  await discord?.stop();
  await deleteKeys(prefix);
  await engine?.dispose();
});

function capture(service: string) {
  const lines: string[] = [];
  const logger = createLogger({ service, secrets: [BOT_TOKEN], write: line => lines.push(line) });
  return { lines, logger, log: logFunction(logger) };
}

describe("logs", () => {
  it("write one JSON line per event, job lines with job and server ids, and never a token", async () => {
    const botLogs = capture("bot");
    const workerLogs = capture("worker");
    const bot = await startBot(botConfig(discord.url, prefix));
    bot.ctx.log = botLogs.log;
    const worker = startWorker(engine, discord.url, prefix, {}, workerLogs.log);
    try {
      // One job succeeds; one fails for good, because Discord refuses its result.
      const fine = slashWeird({ prompt: "Once upon a time", temp: -1, maxTokens: 8, userId: "800000000000000201" });
      const refused = slashWeird({ prompt: "Once upon a time", temp: 1, maxTokens: 8, userId: "800000000000000202" });
      discord.failures.push({
        match: r => r.path.includes(refused.token) && Array.isArray(r.body?.components) && r.body.components.length > 0,
        status: 403,
        body: { message: "Missing Access", code: 50001 },
        times: 1,
      });
      bot.inject(fine);
      bot.inject(refused);
      while ((await bot.ctx.queue.getCompletedCount()) + (await bot.ctx.queue.getFailedCount()) < 2)
        await new Promise(resolve => setTimeout(resolve, 20));
      await discord.waitFor(r => r.path.includes(refused.token) && /generation failed/.test(String(r.body?.content)));
    } finally {
      await worker.close();
      await bot.close();
    }

    const lines = [...botLogs.lines, ...workerLogs.lines];
    const events = lines.map(line => JSON.parse(line) as Record<string, unknown>);
    expect(lines.every(line => line.endsWith("\n") && line.indexOf("\n") === line.length - 1)).toBe(true);
    const jobLines = events.filter(event => String(event.msg).startsWith("job "));
    expect(jobLines.map(event => String(event.msg).replace(/^job [\w-]+/, "job …"))).toEqual(
      expect.arrayContaining(["job … completed", "job … failed: Discord refused the result (403 Missing Access)"]),
    );
    for (const event of jobLines)
      expect(event).toMatchObject({ service: "worker", jobId: expect.any(String), guildId: GUILD_ID });
    for (const line of lines) {
      expect(line).not.toContain(BOT_TOKEN);
      expect(line).not.toMatch(/token-\d+-/); // the helpers' interaction tokens
    }
  });

  it("redact tokens from errors logged whole, and from token fields", async () => {
    const { lines, log } = capture("worker");
    const interactionToken = `aW50ZXJhY3Rpb246${"x".repeat(40)}`;
    discord.failures.push({
      match: () => true,
      status: 403,
      body: { message: "Missing Access", code: 50001 },
      times: 1,
    });
    const delivery = {
      applicationId: APPLICATION_ID,
      interactionToken,
      interactionAt: Date.now(),
      guildId: GUILD_ID,
      channelId: CHANNEL_ID,
      userId: "800000000000000203",
    };
    const error = await new ReplyTarget(createRest(BOT_TOKEN, discord.url), delivery, "nonce")
      .show({ content: "hi", components: [], allowed_mentions: { parse: [] } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).url).toContain(interactionToken); // what would leak
    log("could not edit the reply", { err: error, jobId: "j1", guildId: GUILD_ID });
    log(`bot token in a message: ${BOT_TOKEN}`, { delivery, token: BOT_TOKEN });

    const output = lines.join("");
    expect(output).toContain(`/webhooks/${APPLICATION_ID}/[redacted]/messages/`);
    expect(output).not.toContain(interactionToken);
    expect(output).not.toContain(BOT_TOKEN);
    expect(JSON.parse(lines[1]!)).toMatchObject({ token: "[redacted]", delivery: { interactionToken: "[redacted]" } });
  });

  it("redact interaction tokens in callback and webhook paths", () => {
    expect(redactSecrets("POST /interactions/123/abc.def-ghi/callback", [])).toBe(
      "POST /interactions/123/[redacted]/callback",
    );
    expect(redactSecrets("PATCH /webhooks/1/tok/messages/@original", [])).toBe(
      "PATCH /webhooks/1/[redacted]/messages/@original",
    );
  });
});
