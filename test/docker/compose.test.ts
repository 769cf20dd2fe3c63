// The images and the compose stack, for real: build them, start Redis and the CPU worker with
// the test model mounted, queue a /weird through the real bot code into the stack's Redis, and
// see the worker container generate it and post it to the fake Discord. With
// BELOWZERO_DOCKER_WORKER=native (npm run test:docker:native) the worker is worker-native, on
// the CPU backend built in its image.
import { execFile, execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testModelPath, temporaryFolder } from "../helpers/engine.js";
import { FakeDiscord, type RecordedRequest } from "../helpers/fakeDiscord.js";
import { APPLICATION_ID, botConfig, GUILD_ID, slashWeird, startBot, type TestBot } from "../helpers/discordBot.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const project = `belowzero-dockertest-${process.pid}`;
const tag = "dockertest";
const prefix = "{bzdocker}";
const native = process.env.BELOWZERO_DOCKER_WORKER === "native";
const WORKER = native ? "worker-native" : "worker";

/** Compose v1 (docker-compose, installed here) or v2 (docker compose). */
const composeCommand: string[] = (() => {
  try {
    execFileSync("docker-compose", ["version"], { stdio: "ignore" });
    return ["docker-compose"];
  } catch {
    return ["docker", "compose"];
  }
})();

let discord: FakeDiscord;
let envFile: string;
let bot: TestBot | undefined;
const measured: string[] = [];

async function compose(...args: string[]): Promise<string> {
  const [command, ...rest] = composeCommand;
  const files = ["-f", join(root, "docker-compose.yml"), "-f", join(root, "test/docker/compose.test.yml")];
  const profiles = native ? ["--profile", "native"] : [];
  const { stdout } = await run(command!, [...rest, "-p", project, ...files, ...profiles, ...args], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      BELOWZERO_ENV_FILE: envFile,
      BELOWZERO_TAG: tag,
      MODELS_HOST_DIR: dirname(testModelPath()),
      MODEL_FILE: basename(testModelPath()),
      LLAMA_THREADS: "1",
    },
  });
  return stdout;
}

async function docker(...args: string[]): Promise<string> {
  return (await run("docker", args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
}

async function containerOf(service: string): Promise<string> {
  return (await compose("ps", "-q", service)).trim();
}

/** Waits (without a deadline of its own: the hook timeout bounds it) for a container's health. */
async function untilHealthy(service: string): Promise<void> {
  const id = await containerOf(service);
  for (;;) {
    const status = await docker("inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", id);
    if (status === "running healthy") return;
    if (!status.startsWith("running"))
      throw new Error(`${service} is ${status}:\n${await compose("logs", "--no-color", service)}`);
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}

beforeAll(async () => {
  try {
    await docker("info", "--format", "{{.ServerVersion}}");
  } catch {
    throw new Error("No Docker engine answers: start one with ../shared/tools/docker-local.sh up");
  }
  discord = await new FakeDiscord().start("0.0.0.0");
  envFile = join(temporaryFolder(), "belowzero.env");
  writeFileSync(
    envFile,
    [
      "DISCORD_TOKEN=test-token",
      `DISCORD_APPLICATION_ID=${APPLICATION_ID}`,
      `DISCORD_API_URL=http://host.docker.internal:${discord.port}/api`,
      `REDIS_PREFIX=${prefix}`,
      "STREAM_EDIT_INTERVAL_MS=200",
    ].join("\n"),
  );

  let started = Date.now();
  await compose("build", "bot");
  measured.push(`build app image: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const size = Number(await docker("image", "inspect", "--format", "{{.Size}}", `belowzero:${tag}`));
  measured.push(`belowzero:${tag} image: ${(size / 1e6).toFixed(0)} MB`);

  if (native) {
    started = Date.now();
    await compose("build", WORKER);
    measured.push(`build ${WORKER} image: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  started = Date.now();
  await compose("up", "-d", "--no-build", "redis", WORKER);
  await untilHealthy(WORKER);
  measured.push(`up to healthy worker: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

afterAll(async () => {
  console.log(measured.map(line => `[test:docker] ${line}`).join("\n"));
  await bot?.close();
  if (envFile) await compose("down", "-v", "--remove-orphans").catch((error: Error) => console.error(error.message));
  await discord?.stop();
});

const isFinal = (r: RecordedRequest) =>
  r.method === "PATCH" && Array.isArray(r.body?.components) && (r.body.components as unknown[]).length > 0;

describe("the compose stack", () => {
  it("generates a /weird queued by the bot in the worker container and posts it to Discord", async () => {
    const redisPort = (await compose("port", "redis", "6379")).trim().split(":").pop();
    bot = await startBot(botConfig(discord.url, prefix, {}, `redis://127.0.0.1:${redisPort}`));
    const raw = slashWeird({ prompt: "Once upon a time", temp: -0.001, maxTokens: 20, seed: 42 });
    bot.inject(raw);

    const final = await discord.waitFor(r => isFinal(r) && r.path.includes(raw.token), 60_000);
    // The header as the worker writes it (the model name neutralised for Discord's markdown).
    expect(final.body?.content).toContain("**T = -0.001 · β = -1000** · 20 tokens (max tokens) · ");
    expect(final.body?.content).toMatch(/ · stories260K\\?\.gguf · seed 42\n/);
    expect(final.body?.content).toContain("|".repeat(20));
    expect(final.body?.allowed_mentions).toEqual({ parse: [] });
    const logs = await compose("logs", "--no-color", WORKER);
    expect(logs).toMatch(
      native ? /"msg":"backend: CPU; localBuild llama\.cpp/ : /"msg":"backend: CPU; prebuilt llama\.cpp/,
    );
    expect(logs).toMatch(new RegExp(`"jobId":"[\\w-]+","guildId":"${GUILD_ID}","msg":"job [\\w-]+ completed"`));
    expect(logs).not.toContain("test-token");
  });

  it("runs the worker as a non-root user with production dependencies only, caching negation files in /cache where its route needs them", async () => {
    const worker = await containerOf(WORKER);
    expect(await docker("exec", worker, "id", "-u")).not.toBe("0");
    expect(
      await docker(
        "exec",
        worker,
        "node",
        "-e",
        "import('tsx').then(() => console.log('tsx'), () => console.log('no tsx'))",
      ),
    ).toBe("no tsx");
    // The prebuilt backend's adapter or copy route writes its files there; the patched native build
    // negates in its sampler and writes none. There, one pool thread keeps one OpenMP team.
    if (native) {
      expect(await docker("exec", worker, "ls", "/cache")).toBe("");
      expect(await docker("exec", worker, "printenv", "UV_THREADPOOL_SIZE")).toBe("1");
    } else expect(await docker("exec", worker, "ls", "/cache")).not.toBe("");
    expect(JSON.parse(await docker("exec", worker, "node", "dist/healthcheck.js"))).toEqual({
      healthy: true,
      checks: { redis: true, worker: true },
    });
  });

  it("registers the slash commands from the bot image", async () => {
    await compose("run", "--rm", "--no-deps", "bot", "node", "dist/bot/deployCommands.js");
    const put = await discord.waitFor(r => r.method === "PUT" && r.path === `/applications/${APPLICATION_ID}/commands`);
    expect((put.body as unknown as Array<{ name: string }>).map(command => command.name)).toEqual(
      expect.arrayContaining(["weird", "weird-help"]),
    );
  });
});
