// Preloaded (`node --require`) by the npm scripts that generate, before libuv's thread pool starts
// (it starts while the first ES module loads, so the entry point itself is too late): where
// node-llama-cpp will load belowzero's CPU source build (OpenMP, `npm run build:cpu-backend`), it
// sets UV_THREADPOOL_SIZE=1 unless the environment sets it.
//
// Why: each thread that starts an OpenMP region gets a team of its own, and node-llama-cpp's jobs
// run on whichever of the pool's 4 threads is free, so up to 4 teams build up. Once their threads
// outnumber the cores, libgomp spins only 100 times at each of ggml's barriers before it sleeps,
// and every step pays futex sleeps and wake-ups. Measured (bench/README.md, 2 cores, 2 threads):
// 0.50–0.92× stock llama.cpp with the default pool, 0.93–1.06× with one pool thread. The prebuilt
// and CUDA backends have no OpenMP and keep the default pool, where the two contexts of the
// adapter route decode side by side.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

/** Whether node-llama-cpp's last local build, under its llama folder, is a CPU build. */
function cpuSourceBuild(llamaFolder) {
  try {
    const { folderName } = JSON.parse(readFileSync(join(llamaFolder, "lastBuild.json"), "utf8"));
    const release = join(llamaFolder, "localBuilds", folderName, "Release");
    return JSON.parse(readFileSync(join(release, "_nlcBuildMetadata.json"), "utf8")).buildOptions.gpu === false;
  } catch {
    return false;
  }
}

// A GPU asked for, or custom build options (node-llama-cpp then looks for another build): not this one.
const otherBackend =
  !["", "auto", "false", "cpu"].includes(process.env.LLAMA_GPU ?? "") ||
  Object.keys(process.env).some(name => name.startsWith("NODE_LLAMA_CPP_CMAKE_OPTION_"));
if (
  process.env.UV_THREADPOOL_SIZE === undefined &&
  !otherBackend &&
  cpuSourceBuild(join(__dirname, "../node_modules/node-llama-cpp/llama"))
)
  process.env.UV_THREADPOOL_SIZE = "1";
