// scripts/thread-pool.cjs, preloaded by the npm scripts that generate: one libuv pool thread where
// node-llama-cpp will load the CPU source build (OpenMP), the default pool elsewhere, and never
// over the environment's own choice. Run in real node processes on fake node-llama-cpp layouts,
// counting the threads the process really has once the pool has started.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { threadPoolWarning } from "../../src/engine/backend.js";
import { temporaryFolder } from "../helpers/engine.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A checkout with the preload and, where asked, node-llama-cpp's record of a local build. */
function checkout(build?: { gpu: string | false }): string {
  const dir = temporaryFolder();
  cpSync(join(root, "scripts/thread-pool.cjs"), join(dir, "scripts/thread-pool.cjs"));
  const llama = join(dir, "node_modules/node-llama-cpp/llama");
  mkdirSync(join(llama, "localBuilds/linux-x64/Release"), { recursive: true });
  if (build) {
    writeFileSync(join(llama, "lastBuild.json"), JSON.stringify({ folderName: "linux-x64" }));
    writeFileSync(
      join(llama, "localBuilds/linux-x64/Release/_nlcBuildMetadata.json"),
      JSON.stringify({ buildOptions: { gpu: build.gpu, arch: "x64" } }),
    );
  }
  return dir;
}

/** The pool size the process saw, and how many threads it had once the pool had run a job. */
function start(dir: string, env: NodeJS.ProcessEnv = {}): { size: string; threads: number } {
  const script =
    'require("node:fs").readFile(__filename, () => console.log(JSON.stringify({ size: process.env.UV_THREADPOOL_SIZE ?? "unset", threads: require("node:fs").readdirSync("/proc/self/task").length })))';
  const environment = { ...process.env, ...env };
  if (!("UV_THREADPOOL_SIZE" in env)) delete environment.UV_THREADPOOL_SIZE;
  const run = spawnSync(process.execPath, ["--require", join(dir, "scripts/thread-pool.cjs"), "-e", script], {
    env: environment,
    encoding: "utf8",
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { size: string; threads: number };
}

describe.runIf(process.platform === "linux")("the thread-pool preload", () => {
  it("gives a CPU source build one pool thread, three fewer than the default pool", () => {
    const cpu = start(checkout({ gpu: false }));
    const prebuilt = start(checkout());
    expect(cpu.size).toBe("1");
    expect(prebuilt.size).toBe("unset");
    expect(prebuilt.threads - cpu.threads).toBe(3);
  });

  it("leaves the pool alone for a CUDA build, an unreadable record and an explicit setting", () => {
    expect(start(checkout({ gpu: "cuda" })).size).toBe("unset");
    const broken = checkout({ gpu: false });
    writeFileSync(join(broken, "node_modules/node-llama-cpp/llama/lastBuild.json"), "{ not json");
    expect(start(broken).size).toBe("unset");
    expect(start(checkout({ gpu: false }), { UV_THREADPOOL_SIZE: "4" }).size).toBe("4");
    expect(start(checkout({ gpu: false }), { LLAMA_GPU: "cuda" }).size).toBe("unset");
    expect(start(checkout({ gpu: false }), { NODE_LLAMA_CPP_CMAKE_OPTION_GGML_CUDA: "ON" }).size).toBe("unset");
  });
});

describe("threadPoolWarning", () => {
  const openMp = "7f00-7f01 r-xp 00000000 08:01 42 /usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0\n";
  it("warns where OpenMP runs several threads beside the default pool", () => {
    const warning = threadPoolWarning(2, {}, openMp);
    expect(warning).toContain("UV_THREADPOOL_SIZE=1");
    expect(warning).toContain("4 (the default)");
    expect(threadPoolWarning(4, { UV_THREADPOOL_SIZE: "8" }, openMp)).toContain("8 threads");
  });
  it("says nothing with one pool thread, one llama.cpp thread, or no OpenMP", () => {
    expect(threadPoolWarning(2, { UV_THREADPOOL_SIZE: "1" }, openMp)).toBeNull();
    expect(threadPoolWarning(1, {}, openMp)).toBeNull();
    expect(threadPoolWarning(2, {}, "7f00-7f01 r-xp 00000000 08:01 42 /app/libggml-cpu.so\n")).toBeNull();
  });
});
