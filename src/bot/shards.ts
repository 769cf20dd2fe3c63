// npm run start:shards (and the bot image): discord.js's ShardingManager runs one bot process
// per gateway shard, GATEWAY_SHARDS of them ("auto": as many as Discord recommends). Shards
// share nothing but Redis, where every piece of bot state lives (queue, cooldowns, queue
// places, outputs, votes), so a member's cooldown or a vote holds whichever shard sees it.
import { config as loadDotenv } from "dotenv";
import { ShardingManager } from "discord.js";
import { deprecationWarnings, loadBotConfig, loadGatewayShards, loadOperationsSettings } from "../config.js";
import { entryPoint } from "../entryPoint.js";
import { createLogger } from "../observability/log.js";

loadDotenv({ quiet: true });
const operations = loadOperationsSettings();
const config = loadBotConfig();
const logger = createLogger({ service: "shards", level: operations.logLevel, secrets: [config.discord.token] });
for (const warning of deprecationWarnings(process.env)) logger.warn(warning);

const shardMain = entryPoint(import.meta.url, "./main.js");
const manager = new ShardingManager(shardMain.path, {
  token: config.discord.token,
  totalShards: loadGatewayShards(),
  execArgv: shardMain.execArgv,
  respawn: true,
});
manager.on("shardCreate", shard =>
  logger.info({ shard: shard.id }, `shard ${shard.id} of ${manager.totalShards} started`),
);

// Each shard shuts down gracefully on SIGTERM; the manager exits once they all have (in a
// container, its exit would otherwise SIGKILL them).
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping ${manager.shards.size} shards`);
    const exits = [...manager.shards.values()].map(shard => {
      const child = shard.process;
      if (!child || child.exitCode !== null) return Promise.resolve();
      const exited = new Promise(resolve => child.once("exit", resolve));
      shard.kill();
      return exited;
    });
    void Promise.all(exits).then(() => process.exit(0));
  });

manager.spawn({ timeout: 60_000 }).catch((error: Error) => {
  logger.fatal(error.message);
  process.exit(1);
});
