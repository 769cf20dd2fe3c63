// npm run gpu:stage: the folder it writes fits the 64 MiB limit and holds what run.sh needs on a
// host without Node, npm or network, and its parts work (the Node binary runs, the npm stand-in
// runs package scripts as npm does). The run itself, CPU dry run included, builds llama.cpp
// (~10 minutes on 2 cores): it was run by hand, see docs/deploy.md ("GPU check").
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { temporaryFolder } from "../helpers/engine.js";
import { stage, STAGE_LIMIT_BYTES } from "../../scripts/gpu-stage.js";

describe("npm run gpu:stage", () => {
  let out: string;
  let unpacked: string;
  let listing: string[];
  beforeAll(async () => {
    out = join(temporaryFolder(), "gpu-check");
    await stage(out);
    unpacked = temporaryFolder();
    execFileSync("tar", ["-xzf", join(out, "belowzero.tar.gz"), "-C", unpacked]);
    listing = execFileSync("tar", ["-tzf", join(out, "belowzero.tar.gz")], { maxBuffer: 1 << 26 })
      .toString()
      .split("\n");
  }, 300_000);

  it("writes at most 64 MiB: run.sh, Node and the project", async () => {
    const sizes = ["run.sh", "node.gz", "belowzero.tar.gz"].map(file => statSync(join(out, file)).size);
    expect(sizes.reduce((a, b) => a + b)).toBeLessThanOrEqual(STAGE_LIMIT_BYTES);
    await expect(stage(out)).rejects.toThrow(/not empty/);
  });

  it("carries the sources both builds compile, the patch, the vocabulary and the check", () => {
    const has = (path: string) => expect(listing).toContain(`./${path}`);
    has("node_modules/node-llama-cpp/llama/CMakeLists.txt");
    has("node_modules/node-llama-cpp/llama/addon/AddonSampler.cpp");
    has("node_modules/node-llama-cpp/llama/addon/AddonContext.cpp"); // the patch changes both
    has("node_modules/node-llama-cpp/llama/llama.cpp/ggml/src/ggml-cuda/ggml-cuda.cu");
    has("node_modules/node-llama-cpp/llama/llama.cpp/tools/llama-bench/llama-bench.cpp");
    has("node_modules/node-llama-cpp/llama/llama.cpp/.git/"); // node-llama-cpp's "cloned" marker
    has("node_modules/cmake-js/package.json");
    has("node_modules/node-addon-api/package.json");
    has("node_modules/.bin/cmake-js");
    has("scripts/patch-node-llama-cpp.sh");
    has("patches/node-llama-cpp-3.22.1-negative-temperature.patch");
    has("vocab/ggml-vocab-llama-spm.gguf");
    has("app/gpu-check.mjs");
    has("bin/npm");
  });

  it("leaves out every prebuilt binary, built backend and the llama.cpp bundle", () => {
    // (@reflink/reflink-linux-x64-gnu stays: an optional dependency of node-llama-cpp for this platform.)
    const prebuilt = /@node-llama-cpp\/|localBuilds|gitRelease\.bundle|node-llama-cpp\/.*\.node$/;
    expect(listing.filter(path => prebuilt.test(path))).toEqual([]);
    expect(listing.filter(path => /llama\.cpp\/models\//.test(path))).toEqual([]);
  });

  it("carries a Node binary that runs", () => {
    const node = join(temporaryFolder(), "node");
    writeFileSync(node, execFileSync("gzip", ["-dc", join(out, "node.gz")], { maxBuffer: 1 << 28 }));
    chmodSync(node, 0o755);
    expect(execFileSync(node, ["-p", "process.version"]).toString().trim()).toBe(process.version);
  });

  it("carries an npm stand-in that runs a package script as npm run does", () => {
    const pkg = temporaryFolder();
    mkdirSync(join(pkg, "sub"));
    writeFileSync(join(pkg, "sub", "show.cjs"), "console.log(JSON.stringify(process.argv.slice(2)))");
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ scripts: { show: "cd sub && node show.cjs" } }));
    const output = execFileSync(join(unpacked, "bin/npm"), ["run", "-s", "show", "--", "--CDA=80;90", "two words"], {
      cwd: join(pkg, "sub"),
    });
    expect(JSON.parse(output.toString())).toEqual(["--CDA=80;90", "two words"]);
    expect(() => execFileSync(join(unpacked, "bin/npm"), ["install"], { cwd: pkg, stdio: "pipe" })).toThrow();
  });

  it("has a run.sh that bash accepts and that stops at the first failing step", () => {
    execFileSync("bash", ["-n", join(out, "run.sh")]);
    const script = readFileSync(join(out, "run.sh"), "utf8");
    for (const name of ["unpack", "gpu", "patch", "backend", "llama-bench", "models", "measure"])
      expect(script).toMatch(new RegExp(`^step ${name} \\d+ `, "m"));
  });
});
