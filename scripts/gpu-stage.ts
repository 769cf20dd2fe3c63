// Writes the GPU check: a folder (at most 64 MiB) that measures belowzero on a bare Linux host
// with an NVIDIA GPU, the CUDA toolkit, cmake, ninja, gcc and python3, but no Node, no npm and no
// network. It carries this machine's Node binary (gzip), node-llama-cpp and its production
// dependencies without any prebuilt binary, llama.cpp's sources as node-llama-cpp clones them
// (trimmed), the negative-temperature patch, the check itself (bench/gpuCheck.ts, bundled) and
// run.sh (scripts/gpu-check/run.sh), which builds, writes the models, measures and prints one table.
//
//   npm run gpu:stage -- DIR        then: bash DIR/run.sh       (BELOWZERO_GPU_CHECK_CPU=1: the CPU dry run)
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

export const STAGE_LIMIT_BYTES = 64 * 2 ** 20;
const root = resolve(import.meta.dirname, "..");

/** Parts of llama.cpp's tree that neither the addon build nor llama-bench reads (models/ is ~60 MB of vocabularies). */
const LLAMA_CPP_UNUSED = [
  ".git",
  ".github",
  "docs",
  "media",
  "models",
  "tests",
  "examples",
  "gguf-py",
  "scripts",
  "ci",
];

interface PackageJson {
  name: string;
  version: string;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}

const readPackage = (folder: string) => JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as PackageJson;

/** Where Node would find package `name` from `folder` (nested node_modules first, then each parent's). */
function findPackage(name: string, folder: string): string {
  for (let at = folder; ; at = dirname(at)) {
    const candidate = join(at, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (at === root || dirname(at) === at)
      throw new Error(`${name} (needed by ${folder}) is not installed: run npm ci`);
  }
}

/** node-llama-cpp and everything it needs at run time, without its prebuilt binaries (@node-llama-cpp/*). */
function runtimeClosure(start: string): Set<string> {
  const found = new Set<string>();
  const visit = (folder: string) => {
    if (found.has(folder)) return;
    found.add(folder);
    const manifest = readPackage(folder);
    for (const name of Object.keys(manifest.dependencies ?? {})) visit(findPackage(name, folder));
    for (const name of Object.keys(manifest.optionalDependencies ?? {})) {
      if (name.startsWith("@node-llama-cpp/")) continue;
      try {
        visit(findPackage(name, folder));
      } catch {
        // an optional dependency npm did not install (another platform's)
      }
    }
  };
  visit(start);
  return found;
}

function folderBytes(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + folderBytes(join(path, entry)), 0);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export async function stage(out: string): Promise<{ bytes: number; parts: Record<string, number> }> {
  if (existsSync(out) && readdirSync(out).length > 0)
    throw new Error(`${out} is not empty: give a new or empty folder`);
  mkdirSync(out, { recursive: true });
  const tree = mkdtempSync(join(tmpdir(), "belowzero-gpu-stage-"));
  try {
    const nodeLlamaCpp = join(root, "node_modules", "node-llama-cpp");
    const version = readPackage(nodeLlamaCpp).version;

    // node_modules: the runtime closure, copied with the layout it has here.
    const modules = join(tree, "node_modules");
    for (const folder of runtimeClosure(nodeLlamaCpp)) {
      const target = join(modules, relative(join(root, "node_modules"), folder));
      cpSync(folder, target, {
        recursive: true,
        dereference: true,
        // Built backends and a cloned llama.cpp of this machine's, and nested node_modules (copied on their own).
        filter: source =>
          !/\/node-llama-cpp\/llama\/(localBuilds|llama\.cpp)$/.test(source) &&
          (source === folder || relative(folder, source).split("/")[0] !== "node_modules"),
      });
      // npm's .bin links, which package scripts (node-llama-cpp's "cmake-js-llama") run by name.
      const manifest = readPackage(folder);
      const bins =
        typeof manifest.bin === "string" ? { [manifest.name.split("/").pop()!]: manifest.bin } : manifest.bin;
      const parent = dirname(target);
      const binFolder = join(basename(parent).startsWith("@") ? dirname(parent) : parent, ".bin");
      for (const [name, file] of Object.entries(bins ?? {})) {
        mkdirSync(binFolder, { recursive: true });
        if (!existsSync(join(binFolder, name)))
          symlinkSync(relative(binFolder, join(target, file)), join(binFolder, name));
      }
    }

    // llama.cpp's sources, cloned from the package's bundle by node-llama-cpp itself (it applies its own
    // patches), then trimmed; the clone's marker (.git) stays as an empty folder so `source build` accepts it.
    const staged = join(modules, "node-llama-cpp");
    const clone = (await import(pathToFileURL(join(staged, "dist/bindings/utils/cloneLlamaCppRepo.js")).href)) as {
      ensureLlamaCppRepoIsCloned: (options: { progressLogs: boolean }) => Promise<void>;
    };
    await clone.ensureLlamaCppRepoIsCloned({ progressLogs: false });
    const llamaCpp = join(staged, "llama", "llama.cpp");
    mkdirSync(join(tree, "vocab"));
    cpSync(join(llamaCpp, "models", "ggml-vocab-llama-spm.gguf"), join(tree, "vocab", "ggml-vocab-llama-spm.gguf"));
    for (const unused of LLAMA_CPP_UNUSED) rmSync(join(llamaCpp, unused), { recursive: true, force: true });
    mkdirSync(join(llamaCpp, ".git"));
    rmSync(join(staged, "llama", "gitRelease.bundle"));

    // The check, bundled into one file (node-llama-cpp stays outside: it loads its addon from its own folder).
    await build({
      entryPoints: [join(root, "bench", "gpuCheck.ts")],
      outfile: join(tree, "app", "gpu-check.mjs"),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      external: ["node-llama-cpp"],
      logLevel: "warning",
    });
    for (const file of [
      "scripts/patch-node-llama-cpp.sh",
      `patches/node-llama-cpp-${version}-negative-temperature.patch`,
    ])
      cpSync(join(root, file), join(tree, file));
    cpSync(join(root, "scripts", "gpu-check", "npm"), join(tree, "bin", "npm"));
    writeFileSync(
      join(tree, "package.json"),
      `${JSON.stringify({ name: "belowzero-gpu-check", private: true, type: "module", dependencies: { "node-llama-cpp": version } }, null, 2)}\n`,
    );

    const parts = {
      node_modules: folderBytes(modules) - folderBytes(llamaCpp),
      "llama.cpp sources": folderBytes(llamaCpp),
      "check and scripts": folderBytes(join(tree, "app")) + folderBytes(join(tree, "scripts")),
    };
    // gzip, not xz: every host has it, and xz took minutes on a busy 2-core machine for ~10 MiB less.
    execFileSync("tar", ["-czf", join(out, "belowzero.tar.gz"), "-C", tree, "."]);
    // Node: this machine's binary (its glibc is what the host needs: see docs), compressed (~99 → ~34 MiB).
    execFileSync("sh", ["-c", `gzip -6 -c "$0" > "$1"`, process.execPath, join(out, "node.gz")]);
    cpSync(join(root, "scripts", "gpu-check", "run.sh"), join(out, "run.sh"));
    const bytes = folderBytes(out);
    if (bytes > STAGE_LIMIT_BYTES)
      throw new Error(`${out} holds ${mib(bytes)}, over the ${mib(STAGE_LIMIT_BYTES)} limit`);
    return { bytes, parts };
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: npm run gpu:stage -- DIR   (a new or empty folder)");
    process.exit(2);
  }
  try {
    const { bytes, parts } = await stage(resolve(out));
    for (const [part, size] of Object.entries(parts)) console.log(`${part}: ${mib(size)} before compression`);
    console.log(
      `staged ${resolve(out)}: ${mib(bytes)} (limit ${mib(STAGE_LIMIT_BYTES)}); run: bash ${join(out, "run.sh")}`,
    );
  } catch (error) {
    console.error(`gpu:stage failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
