// The lifecycle every end-to-end file shares: one engine per file, a fresh fake Discord and
// Redis key prefix per test, and whatever bot and worker a test started stopped after it.
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { deleteKeys, testPrefix, type startWorker, type TestBot } from "./discordBot.js";
import { loadTestEngine } from "./engine.js";
import { FakeDiscord } from "./fakeDiscord.js";

export interface Flow {
  engine: Engine;
  discord: FakeDiscord;
  prefix: string;
  /** Set by a test that starts one; stopped after it. */
  bot?: TestBot;
  worker?: ReturnType<typeof startWorker>;
}

export function useFlow(): Flow {
  const flow = {} as Flow;
  beforeAll(async () => {
    flow.engine = await loadTestEngine();
  });
  afterAll(async () => {
    await flow.engine?.dispose();
  });
  beforeEach(async () => {
    flow.discord = await new FakeDiscord().start();
    flow.prefix = testPrefix();
  });
  afterEach(async () => {
    await flow.worker?.close();
    await flow.bot?.close();
    flow.worker = flow.bot = undefined;
    await flow.discord.stop();
    await deleteKeys(flow.prefix);
  });
  return flow;
}
