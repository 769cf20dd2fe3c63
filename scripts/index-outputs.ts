// npm run index-outputs — once, after upgrading to the community game: outputs recorded
// before it never expire and are on no leaderboard. Saving each one again gives it the
// retention (counted from when it was made; older ones go at once) and puts it on its
// server's boards with the votes it already has. Saving is idempotent, so running it twice
// does no harm.
import { config as loadDotenv } from "dotenv";
import { Redis } from "ioredis";
import { loadBotConfig } from "../src/config.js";
import { DAY_MS, OutputStore, type OutputRecord } from "../src/store/outputs.js";

loadDotenv({ quiet: true });
const config = loadBotConfig();
const redis = new Redis(config.queue.redisUrl);
const outputs = new OutputStore(redis, config.queue.prefix, config.records.retentionDays * DAY_MS);
// Glob-escaped: the prefix's braces are literal here.
const pattern = `${config.queue.prefix.replace(/[[\]*?\\]/g, "\\$&")}:output:*`;
let cursor = "0";
let saved = 0;
do {
  const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
  cursor = next;
  for (const key of keys) {
    if ((await redis.pttl(key)) !== -1) continue; // already has the retention
    const raw = await redis.get(key);
    if (raw === null) continue;
    // Oldest first would be tidier for the boards' trims, but each save trims what aged out anyway.
    await outputs.save(JSON.parse(raw) as OutputRecord);
    saved++;
  }
} while (cursor !== "0");
console.log(`Indexed ${saved} outputs recorded before the community game.`);
redis.disconnect();
