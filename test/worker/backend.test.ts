// The worker says at start which llama.cpp backend it got, and with LLAMA_GPU=cuda it
// refuses to start rather than generate on the CPU.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { spawnWorkerMain } from "../helpers/workerMain.js";

const root = resolve(import.meta.dirname, "../..");

/** Runs the real worker entry point until it exits or prints a line matching `until`. */
async function runWorker(env: Record<string, string>, until: RegExp): Promise<{ output: string; code: number | null }> {
  const worker = spawnWorkerMain(env);
  await worker.waitFor(until).then(
    () => worker.child.kill("SIGTERM"),
    () => undefined, // it exited first: the output says why
  );
  return { code: await worker.exited, output: worker.output() };
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
    const { output, code } = await runWorker({ LLAMA_GPU: "cuda" }, /(?!)/);
    expect(code).toBe(1);
    expect(output).toMatch(/"level":60,.*"msg":"LLAMA_GPU=cuda: .*this worker does not fall back to the CPU/);
    expect(output).not.toMatch(/backend: CPU/);
  });
});
