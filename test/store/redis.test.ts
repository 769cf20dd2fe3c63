// The worker's connection waits for Redis and says why it cannot reach it, once per outage:
// ioredis repeats the same error on every reconnection attempt.
import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { workerConnection } from "../../src/store/redis.js";

const connections: Redis[] = [];
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
