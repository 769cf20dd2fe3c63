// npm run start:bot — the gateway process. Never loads a model.
import { config as loadDotenv } from "dotenv";
import { deprecationWarnings, loadBotConfig, loadOperationsSettings } from "../config.js";
import { createLogger, logFunction } from "../observability/log.js";
import { startObservabilityServer } from "../observability/server.js";
import { DAY_MS, OutputStore } from "../store/outputs.js";
import { ModelRegistry } from "../store/models.js";
import { ComparisonStore } from "../store/comparisons.js";
import { Queues } from "../store/queues.js";
import { modelQueueMetrics } from "../observability/metrics.js";
import { producerConnection } from "../store/redis.js";
import { operatorSettings, SettingsStore } from "../store/settings.js";
import { Throttle } from "../store/throttle.js";
import { onShutdown } from "../shutdown.js";
import { assignedShards, createBot } from "./bot.js";
import type { BotContext } from "../interactions/context.js";
import { watchOrphanedJobs } from "../interactions/orphans.js";
import { Refreshes } from "../interactions/refreshes.js";
import { UnansweredClicks } from "../game/votes.js";
import { CommunityStore } from "../store/community.js";

loadDotenv({ quiet: true });
// Under the ShardingManager each shard is a process of its own, named in its log lines.
const assignment = assignedShards();
const shard = process.env.SHARDING_MANAGER ? { shard: assignment.shards[0]! } : {};
let logger = createLogger({ service: "bot", base: shard, secrets: [process.env.DISCORD_TOKEN ?? ""] });

async function main(): Promise<void> {
  const operations = loadOperationsSettings();
  const config = loadBotConfig();
  logger = createLogger({ service: "bot", base: shard, level: operations.logLevel, secrets: [config.discord.token] });
  const log = logFunction(logger);
  if (!process.env.SHARDING_MANAGER) {
    // Under the ShardingManager, the manager has already said it once for all its shards.
    for (const warning of deprecationWarnings(process.env)) logger.warn(warning);
    // GATEWAY_SHARDS's former name is discord.js's own: 14.28.1's Client takes SHARD_COUNT from
    // the environment whenever shardCount is 1 and refuses "auto", so in a bot started on its
    // own the deprecated setting must not reach it. Goes with the alias.
    delete process.env.SHARD_COUNT;
  }
  const redis = producerConnection(config.queue.redisUrl);
  const queues = new Queues(redis, config.queue.prefix, error => log(`queue: ${error.message}`));
  const queue = queues.shared;
  const outputs = new OutputStore(redis, config.queue.prefix, config.records.retentionDays * DAY_MS);
  const refreshes = new Refreshes((key, error) => log(`${key}: ${(error as Error).message}`));
  const ctx: BotContext = {
    config,
    queue,
    queues,
    models: new ModelRegistry(redis, config.queue.prefix),
    comparisons: new ComparisonStore(redis, config.queue.prefix),
    log,
    throttle: new Throttle(redis, config.queue.prefix),
    outputs,
    community: new CommunityStore(redis, config.queue.prefix, outputs),
    settings: new SettingsStore(redis, config.queue.prefix, operatorSettings(config), log),
    refreshes,
    unansweredClicks: new UnansweredClicks(),
    redisReady: () => redis.status === "ready",
  };
  const client = createBot(ctx, assignment);
  client.once("clientReady", ready => log(`logged in as ${ready.user.tag}`));
  // Jobs for a model whose last worker died are answered, not left waiting.
  const stopOrphans = watchOrphanedJobs(ctx, client.rest);
  // Shards of one ShardingManager share a host: each serves on its own port after the first.
  const port = operations.metricsPort > 0 ? operations.metricsPort + (shard.shard ?? 0) : 0;
  if (port > 0)
    await startObservabilityServer(port, () => ({ redis: redis.status === "ready", gateway: client.isReady() }), [
      () => queue.exportPrometheusMetrics(),
      () => modelQueueMetrics(ctx.models, queues),
    ]);

  onShutdown(log, async () => {
    // Let the last vote counts reach their buttons (a few seconds at most).
    await Promise.race([refreshes.settled(), new Promise(resolve => setTimeout(resolve, 5000).unref())]);
    stopOrphans();
    await client.destroy();
    await queues.close();
    redis.disconnect();
  });
  await client.login(config.discord.token);
}

main().catch((error: Error) => {
  logger.fatal(error.message);
  process.exit(1);
});
