// scripts/patch-node-llama-cpp.sh on a copy of node-llama-cpp's addon sources: it applies the
// negative-temperature patch to the pinned version's pristine sources, does nothing the second
// time, and refuses other versions and sources it does not recognise.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { temporaryFolder } from "../helpers/engine.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const VERSION = "3.22.1";
const PATCH = `patches/node-llama-cpp-${VERSION}-negative-temperature.patch`;
/** The addon sources the patch changes: the sampler (T < 0) and the context (native steps). */
const ADDON_FILES = ["AddonContext.cpp", "AddonContext.h", "AddonSampler.cpp", "AddonSampler.h"];

/** A checkout with the script, the patch and node-llama-cpp's addon sources as npm installs them. */
function checkout(version = VERSION): { dir: string; sampler: string; context: string } {
  const dir = temporaryFolder();
  cpSync(join(root, "scripts/patch-node-llama-cpp.sh"), join(dir, "scripts/patch-node-llama-cpp.sh"));
  cpSync(join(root, "patches"), join(dir, "patches"), { recursive: true });
  const addon = join(dir, "node_modules/node-llama-cpp/llama/addon");
  mkdirSync(addon, { recursive: true });
  writeFileSync(join(dir, "node_modules/node-llama-cpp/package.json"), JSON.stringify({ version }));
  for (const file of ADDON_FILES)
    copyFileSync(join(root, "node_modules/node-llama-cpp/llama/addon", file), join(addon, file));
  // This checkout's sources are patched already where it has a source build: take the patch out.
  const pkg = join(dir, "node_modules/node-llama-cpp");
  const input = readFileSync(join(root, PATCH));
  const reverse = ["--reverse", "--force", "--silent", "-p1", "-d", pkg];
  if (spawnSync("patch", ["--dry-run", ...reverse], { input }).status === 0) spawnSync("patch", reverse, { input });
  return { dir, sampler: join(addon, "AddonSampler.cpp"), context: join(addon, "AddonContext.cpp") };
}

const run = (dir: string) => spawnSync("bash", [join(dir, "scripts/patch-node-llama-cpp.sh")], { encoding: "utf8" });

describe("the negative-temperature patch script", () => {
  it("patches the pristine sources once, and the second run changes nothing", () => {
    const { dir, sampler, context } = checkout();
    expect(readFileSync(sampler, "utf8")).not.toContain("negateLogits");
    expect(readFileSync(context, "utf8")).not.toContain("belowzeroSteps");
    const first = run(dir);
    expect(first.stdout).toContain(`Applied ${PATCH}`);
    const patched = readFileSync(sampler, "utf8");
    expect(patched).toContain("negateLogits ? -sampledLogits[i] : sampledLogits[i]");
    expect(patched).toContain("llama_sampler_init_temp(std::fabs(temperatureSampler_temperature))");
    expect(readFileSync(context, "utf8")).toContain('InstanceMethod("belowzeroSteps", &AddonContext::BelowzeroSteps)');
    const second = run(dir);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("is already applied");
    expect(readFileSync(sampler, "utf8")).toBe(patched);
  });

  it("refuses a node-llama-cpp version it has no patch for, naming both", () => {
    const { dir } = checkout("3.23.0");
    const result = run(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/No negative-temperature patch for node-llama-cpp 3\.23\.0 \(have: .*3\.22\.1/);
  });

  it("refuses sources that are neither pristine nor patched, and leaves them as they were", () => {
    const { dir, sampler } = checkout();
    const changed = readFileSync(sampler, "utf8").replace(
      "if (temperatureSampler_temperature <= 0.0f) {",
      "if (temperatureSampler_temperature < 0.5f) {",
    );
    expect(changed).not.toBe(readFileSync(sampler, "utf8"));
    writeFileSync(sampler, changed);
    const result = run(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("does not apply");
    expect(readFileSync(sampler, "utf8")).toBe(changed);
    expect(
      execFileSync("ls", [dirname(sampler)], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean),
    ).toEqual(ADDON_FILES);
  });
});
