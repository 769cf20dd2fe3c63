// A bot in a process of its own, as one shard of several would be. Raw interaction payloads
// arrive on stdin, one JSON object per line, and go through discord.js as from the gateway.
// Settings: BZ_API_URL, BZ_PREFIX, BZ_COOLDOWN_MS, BZ_MAX_PER_GUILD.
import { createInterface } from "node:readline";
import { botConfig, startBot } from "./discordBot.js";

const bot = await startBot(
  botConfig(process.env.BZ_API_URL!, process.env.BZ_PREFIX!, {
    cooldownMs: Number(process.env.BZ_COOLDOWN_MS ?? 0),
    maxPerGuild: Number(process.env.BZ_MAX_PER_GUILD ?? 5),
  }),
);
createInterface({ input: process.stdin }).on("line", line => bot.inject(JSON.parse(line) as Record<string, unknown>));
process.stdin.on("end", () => void bot.close().then(() => process.exit(0)));
console.log("bot ready");
