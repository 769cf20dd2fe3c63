// Which llama.cpp backend and devices a process got, said at start, and a refusal when a GPU
// was asked for but not obtained: a CUDA worker quietly generating on the CPU is ~100× slower
// and looks healthy.
import { readFileSync } from "node:fs";
import type { Llama, LlamaModel } from "node-llama-cpp";
import type { GpuSetting } from "./engine.js";

export interface BackendInfo {
  /** "cuda", "vulkan", "metal", or false for the CPU. */
  gpu: string | false;
  /** "localBuild" is ours (e.g. the image's CUDA build); "prebuilt" came with the npm package. */
  build: "localBuild" | "prebuilt";
  devices: string[];
  vramTotalBytes: number;
  /** Layers of the model offloaded to the GPU. */
  gpuLayers: number;
  cmakeOptions: Readonly<Record<string, string>>;
  llamaCppRelease: string;
}

export async function describeBackend(llama: Llama, model: LlamaModel): Promise<BackendInfo> {
  const onGpu = llama.gpu !== false;
  return {
    gpu: llama.gpu,
    build: llama.buildType,
    devices: onGpu ? await llama.getGpuDeviceNames() : [],
    vramTotalBytes: onGpu ? (await llama.getVramState()).total : 0,
    gpuLayers: model.gpuLayers,
    cmakeOptions: llama.cmakeOptions,
    llamaCppRelease: llama.llamaCppRelease.release,
  };
}

export function formatBackend(info: BackendInfo): string {
  const where =
    info.gpu === false
      ? "CPU"
      : `${info.gpu} on ${info.devices.join(", ") || "an unnamed device"} (${(info.vramTotalBytes / 2 ** 30).toFixed(1)} GiB VRAM), ${info.gpuLayers} layers offloaded`;
  const options = Object.entries(info.cmakeOptions)
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");
  return `backend: ${where}; ${info.build} llama.cpp ${info.llamaCppRelease}${options ? ` (${options})` : ""}`;
}

/** Throws when a specific GPU backend was asked for and the process did not get it. */
export function checkBackend(requested: GpuSetting | undefined, info: BackendInfo): void {
  if (requested === undefined || requested === "auto" || requested === false) return;
  if (info.gpu !== requested) {
    throw new Error(
      `LLAMA_GPU=${requested} but llama.cpp loaded the ${info.gpu === false ? "CPU" : info.gpu} backend; refusing to run ` +
        `on it. Check that the GPU is visible (nvidia-smi; --gpus or the compose gpu profile) and that this process has ` +
        `the same NODE_LLAMA_CPP_CMAKE_OPTION_* environment the backend was built with.`,
    );
  }
  if (info.devices.length === 0) throw new Error(`LLAMA_GPU=${requested} but llama.cpp reports no ${requested} device`);
}

/** Names the fix when a specific GPU backend could not be loaded at all. */
export function backendLoadError(requested: GpuSetting | undefined, error: Error): Error {
  if (requested === undefined || requested === "auto" || requested === false || !/binary|backend/i.test(error.message))
    return error;
  return new Error(
    `LLAMA_GPU=${requested}: no usable ${requested} backend (${error.message}). Build it for this GPU with ` +
      `scripts/build-cuda-backend.sh (or use the worker-cuda image) and run with the same NODE_LLAMA_CPP_CMAKE_OPTION_* ` +
      `environment; this worker does not fall back to the CPU.`,
  );
}

/**
 * A warning when llama.cpp runs OpenMP (the CPU source build) with more than one thread beside a
 * larger libuv pool (why: scripts/thread-pool.cjs). libuv reads UV_THREADPOOL_SIZE once, as the
 * process starts, so `env` is the environment it started with, not .env's additions.
 */
export function threadPoolWarning(
  threads: number,
  env: NodeJS.ProcessEnv,
  loadedLibraries = readLoadedLibraries(),
): string | null {
  if (threads <= 1 || env.UV_THREADPOOL_SIZE === "1" || !/\/libgomp[^/]*\.so/.test(loadedLibraries)) return null;
  return (
    `llama.cpp runs OpenMP with ${threads} threads, and libuv's pool has ${env.UV_THREADPOOL_SIZE ?? "4 (the default)"} threads: ` +
    `start the process with UV_THREADPOOL_SIZE=1 in its environment (npm start, npm run start:worker and the worker-native ` +
    `image do; .env loads too late for it), ` +
    `or each step pays OpenMP sleeps and wake-ups (measured 0.5–0.9× llama.cpp's own speed at 2 threads)`
  );
}

function readLoadedLibraries(): string {
  try {
    return readFileSync("/proc/self/maps", "utf8");
  } catch {
    return ""; // not Linux: no libgomp to find either way
  }
}
