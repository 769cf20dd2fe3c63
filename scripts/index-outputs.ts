// npm run index-outputs — once, after upgrading to the community game: outputs recorded
// before it never expire and are on no leaderboard. Saving each one again gives it the
// retention (counted from when it was made; older ones go at once) and puts it on its
// server's boards with the votes it already has. Saving is idempotent, so running it twice
// does no harm. Works on one Redis and on a Redis Cluster (every master is scanned).
import { config as loadDotenv } from "dotenv";
import { deprecationWarnings, loadBotConfig } from "../src/config.js";
import { RedisKeys } from "../src/store/keys.js";
import { DAY_MS, OutputStore, type OutputRecord } from "../src/store/outputs.js";
import { scanKeys, workerConnection } from "../src/store/redis.js";

loadDotenv({ quiet: true });
const config = loadBotConfig();
for (const warning of deprecationWarnings(process.env)) console.warn(warning);
const redis = workerConnection(config.queue.redisUrl);
const outputs = new OutputStore(redis, config.queue.prefix, config.records.retentionDays * DAY_MS);
let saved = 0;
for await (const keys of scanKeys(redis, new RedisKeys(config.queue.prefix).outputPattern)) {
  for (const key of keys) {
    if ((await redis.pttl(key)) !== -1) continue; // already has the retention
    const raw = await redis.get(key);
    if (raw === null) continue;
    // Oldest first would be tidier for the boards' trims, but each save trims what aged out anyway.
    await outputs.save(JSON.parse(raw) as OutputRecord);
    saved++;
  }
}
console.log(`Indexed ${saved} outputs recorded before the community game.`);
redis.disconnect();
