// The worker's connection waits for Redis and says why it cannot reach it, once per outage:
// ioredis repeats the same error on every reconnection attempt.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { Engine } from "../../src/engine/engine.js";
import { DAY_MS, OutputStore } from "../../src/store/outputs.js";
import { workerConnection } from "../../src/store/redis.js";
import { Throttle } from "../../src/store/throttle.js";
import { createRest } from "../../src/worker/reply.js";
import { createWorker } from "../../src/worker/worker.js";
import { loadTestEngine } from "../helpers/engine.js";

const connections: Redis[] = [];
let engine: Engine | undefined;
afterAll(async () => {
  await engine?.dispose();
});
const servers: ChildProcess[] = [];
afterEach(() => {
  for (const connection of connections.splice(0)) connection.disconnect();
  for (const server of servers.splice(0)) server.kill("SIGKILL");
});

function redisServer(port: number): ChildProcess {
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  servers.push(server);
  return server;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise(resolve => setTimeout(resolve, 50));
  expect(condition()).toBe(true);
}

describe("the worker's Redis connection", () => {
  it("the worker built on it says each error once per outage too (BullMQ forwards every attempt's)", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = redisServer(port);
    const connection = workerConnection(`redis://127.0.0.1:${port}`, () => undefined);
    connections.push(connection);
    let errors = 0;
    connection.on("error", () => errors++);
    await until(() => connection.status === "ready");
    const logs: string[] = [];
    engine ??= await loadTestEngine();
    const { shutdown } = createWorker({
      engine,
      rest: createRest("test-token", "http://127.0.0.1:9/api"),
      connection,
      prefix: "{bzredis}",
      concurrency: 1,
      settings: { lockDurationMs: 30_000, stalledIntervalMs: 30_000, editIntervalMs: 20 },
      outputs: new OutputStore(connection, "{bzredis}", 90 * DAY_MS),
      throttle: new Throttle(connection, "{bzredis}"),
      log: line => logs.push(line),
    });
    try {
      await new Promise(resolve => setTimeout(resolve, 300));
      server.kill("SIGKILL");
      await until(() => errors >= 4);
      const said = logs.filter(line => line.startsWith("worker: "));
      expect(said.length).toBeGreaterThan(0);
      expect(new Set(said).size).toBe(said.length);
    } finally {
      await Promise.race([shutdown(), new Promise(resolve => setTimeout(resolve, 2000))]);
    }
  });

  it("reports an outage once, not on every reconnection attempt, and again after Redis came back", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const reports: string[] = [];
    let errors = 0;
    let server = redisServer(port);
    const redis = workerConnection(`redis://127.0.0.1:${port}`, message => reports.push(message));
    connections.push(redis);
    redis.on("error", () => errors++);
    await until(() => redis.status === "ready");
    reports.length = 0; // a refusal while the server was still starting

    server.kill("SIGKILL");
    await until(() => errors >= 3); // ioredis keeps trying
    expect(reports).toEqual([expect.stringMatching(/^redis: connect ECONNREFUSED 127\.0\.0\.1:\d+$/)]);

    server = redisServer(port);
    await until(() => redis.status === "ready");
    server.kill("SIGKILL");
    await until(() => reports.length === 2);
    expect(reports[1]).toBe(reports[0]);
  });
});
