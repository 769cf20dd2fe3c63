// The worker says at start which llama.cpp backend it got, and with LLAMA_GPU=cuda it
// refuses to start rather than generate on the CPU.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { testModelPath, temporaryFolder } from "../helpers/engine.js";

const root = resolve(import.meta.dirname, "../..");

/** Runs the real worker entry point until it exits or prints a line matching `until`. */
function runWorker(env: Record<string, string>, until: RegExp): Promise<{ output: string; code: number | null }> {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(root, "src/worker/main.ts")], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      MODEL: testModelPath(),
      BELOWZERO_CACHE_DIR: temporaryFolder(),
      DISCORD_TOKEN: "test-token",
      DISCORD_API_URL: "http://127.0.0.1:9/api",
      REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      LLAMA_THREADS: "1",
      ...env,
    },
  });
  let output = "";
  return new Promise(done => {
    const read = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (until.test(output)) child.kill("SIGTERM");
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", code => done({ output, code }));
  });
}

describe("worker backend", () => {
  it("logs the backend it loaded", async () => {
    const { output } = await runWorker({ LLAMA_GPU: "cpu" }, /backend: .*\n/);
    // The prebuilt backend, unless npm run build:cpu-backend built one for this checkout.
    const built = existsSync(
      resolve(root, `node_modules/node-llama-cpp/llama/localBuilds/linux-${process.arch}/buildDone.status`),
    );
    expect(output).toMatch(
      new RegExp(`"service":"worker","msg":"backend: CPU; ${built ? "localBuild" : "prebuilt"} llama\\.cpp \\S+"`),
    );
    // Which path samples below zero; only a source build (patched by the build script) has the sampler route.
    expect(output).toMatch(/"msg":"loaded [^"]+; negation: (sampler|adapter|copy) \(/);
    if (!built) expect(output).not.toMatch(/negation: sampler/);
    // How it steps: native chunks only where the patched build has them (the prebuilt never does).
    expect(output).toMatch(/; steps: (native \(|node-llama-cpp's loop")/);
    if (!built) expect(output).toMatch(/steps: node-llama-cpp's loop"/);
  });

  // On a machine with an NVIDIA GPU this would (rightly) start.
  it.skipIf(existsSync("/dev/nvidiactl"))("refuses LLAMA_GPU=cuda without a usable CUDA backend", async () => {
    const { output, code } = await runWorker({ LLAMA_GPU: "cuda" }, /$^/);
    expect(code).toBe(1);
    expect(output).toMatch(/"level":60,.*"msg":"LLAMA_GPU=cuda: .*this worker does not fall back to the CPU/);
    expect(output).not.toMatch(/backend: CPU/);
  });
});
