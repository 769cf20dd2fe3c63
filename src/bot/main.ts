// npm run start:bot — the gateway process. Never loads a model.
import { config as loadDotenv } from "dotenv";
import { Queue } from "bullmq";
import { loadBotConfig } from "../config.js";
import { metricsPort, startObservabilityServer } from "../observability/server.js";
import { DAY_MS, OutputStore } from "../store/outputs.js";
import { QUEUE_NAME } from "../store/queue.js";
import { producerConnection } from "../store/redis.js";
import { operatorSettings, SettingsStore } from "../store/settings.js";
import { Throttle } from "../store/throttle.js";
import { onShutdown } from "../shutdown.js";
import { createBot } from "./bot.js";
import { Refreshes } from "../commands/refreshes.js";
import { CommunityStore } from "../store/community.js";

const log = (line: string) => console.log(`[bot] ${line}`);

async function main(): Promise<void> {
  loadDotenv({ quiet: true });
  const config = loadBotConfig();
  const redis = producerConnection(config.queue.redisUrl);
  const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: config.queue.prefix });
  queue.on("error", error => log(`queue: ${error.message}`));
  const outputs = new OutputStore(redis, config.queue.prefix, config.records.retentionDays * DAY_MS);
  const refreshes = new Refreshes((key, error) => log(`${key}: ${(error as Error).message}`));
  const client = createBot({
    config,
    queue,
    log,
    throttle: new Throttle(redis, config.queue.prefix),
    outputs,
    community: new CommunityStore(redis, config.queue.prefix, outputs),
    settings: new SettingsStore(redis, config.queue.prefix, operatorSettings(config), log),
    refreshes,
    redisReady: () => redis.status === "ready",
  });
  client.once("clientReady", ready => log(`logged in as ${ready.user.tag}`));
  const port = metricsPort();
  if (port > 0)
    await startObservabilityServer(port, () => ({ redis: redis.status === "ready", gateway: client.isReady() }));

  onShutdown(log, async () => {
    // Let the last vote counts reach their buttons (a few seconds at most).
    await Promise.race([refreshes.settled(), new Promise(resolve => setTimeout(resolve, 5000).unref())]);
    await client.destroy();
    await queue.close().catch(() => undefined);
    redis.disconnect();
  });
  await client.login(config.discord.token);
}

main().catch((error: Error) => {
  console.error(`[bot] ${error.message}`);
  process.exit(1);
});
