// The CUDA image cannot be built on these machines, so this checks by reading what it must
// get right: node-llama-cpp finds its local build by a hash of the cmake options, so the
// worker-cuda image must run with exactly the options scripts/build-cuda-backend.sh built with.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(resolve(root, path), "utf8");
const OPTION = /NODE_LLAMA_CPP_CMAKE_OPTION_(\w+)="?(\$\{\w+(?::-[^}]*)?\}|[^\s"\\]+)/g;

/** Option name → value, as written (variables unresolved). */
function options(text: string): Map<string, string> {
  return new Map([...text.matchAll(OPTION)].map(([, name, value]) => [name!, value!]));
}

/** The ENV instruction of one stage of the Dockerfile. */
function stage(dockerfile: string, name: string): string {
  const start = dockerfile.indexOf(` AS ${name}\n`);
  const end = dockerfile.indexOf("\nFROM ", start);
  return dockerfile.slice(start, end === -1 ? undefined : end);
}

describe("the CUDA worker image", () => {
  const dockerfile = read("Dockerfile");
  const script = read("scripts/build-cuda-backend.sh");
  const exported = new Map(
    [...script.matchAll(/^export NODE_LLAMA_CPP_CMAKE_OPTION_(\w+)="?([^"\n]*)"?$/gm)].map(([, n, v]) => [n!, v!]),
  );

  it("runs with the same cmake options the script builds with", () => {
    const runtime = options(stage(dockerfile, "worker-cuda"));
    expect([...runtime.keys()].sort()).toEqual([...exported.keys()].sort());
    // Fixed options are written out; the ones with build arguments share the script's defaults.
    expect(runtime.get("GGML_NATIVE")).toBe(exported.get("GGML_NATIVE"));
    expect(runtime.get("GGML_OPENMP")).toBe(exported.get("GGML_OPENMP"));
    expect(runtime.get("CMAKE_CUDA_ARCHITECTURES")).toBe("${CUDA_ARCHITECTURES}");
    expect(runtime.get("GGML_CUDA_FA")).toBe("${GGML_CUDA_FA}");
    expect(exported.get("CMAKE_CUDA_ARCHITECTURES")).toBe("${CUDA_ARCHITECTURES:-80;86;89;90}");
    expect(dockerfile).toContain('ARG CUDA_ARCHITECTURES="80;86;89;90"');
    expect(exported.get("GGML_CUDA_FA")).toBe("${GGML_CUDA_FA:-OFF}");
    expect(dockerfile).toContain("ARG GGML_CUDA_FA=OFF");
  });

  it("builds with the script and passes both build arguments to it", () => {
    expect(stage(dockerfile, "cuda-build")).toMatch(
      /CUDA_ARCHITECTURES="\$\{CUDA_ARCHITECTURES\}" GGML_CUDA_FA="\$\{GGML_CUDA_FA\}" scripts\/build-cuda-backend\.sh/,
    );
  });

  it("carries no prebuilt backend, so only its own build can load", () => {
    expect(stage(dockerfile, "cuda-build")).toContain("rm -rf node_modules/@node-llama-cpp ");
    expect(stage(dockerfile, "worker-cuda")).toMatch(/LLAMA_GPU=cuda/);
  });
});
