#!/usr/bin/env bash
# Builds node-llama-cpp's CPU backend from the llama.cpp sources shipped inside the npm package
# (a git bundle: nothing is cloned from GitHub) for this machine's CPU, with OpenMP.
#
#   npm ci && npm run build:cpu-backend
#
# Why: the prebuilt CPU backend is built for any x64 CPU and without OpenMP, and ggml's own
# thread pool spin-waits: measured on a 2-core machine (npm run bench, same run), 2 threads
# collapse to 74–108 tokens/s on it, where this build keeps 234–587. At 1 thread the two are
# about the same.
#
# No configuration afterwards: it is built with node-llama-cpp's default options (native
# instructions, and ggml's default of OpenMP), so it lands in llama/localBuilds/linux-<arch>
# and node-llama-cpp loads it instead of the prebuilt backend, for the worker, the CLI, the
# tests and the benchmark alike (the worker logs "localBuild"). `npm ci` removes it with
# node_modules: build again after each. Built for this CPU (-march=native): run it only on
# CPUs with the same instructions. node-llama-cpp tests a local build before loading it only
# when the OS differs, so on an older CPU it loads and dies of an illegal instruction at the
# first step: build on the machine that runs it (an image too).
#
# Needs cmake ≥ 3.14, a C++ compiler with OpenMP (g++ has it) and git; with ninja it compiles on
# every core (~6 minutes on 2), with make on one.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p 'require("./package.json").dependencies["node-llama-cpp"]')
installed=$(node -p 'require("./node_modules/node-llama-cpp/package.json").version' 2>/dev/null || echo none)
[ "$version" = "$installed" ] || { echo "node-llama-cpp $version is in package.json but $installed is installed: run npm ci first" >&2; exit 1; }
for tool in cmake g++ git patch; do
  command -v "$tool" >/dev/null || { echo "$tool not found: install cmake, g++, git and patch (Debian: apt-get install cmake g++ make git patch)" >&2; exit 1; }
done
# Custom options would make node-llama-cpp look for the build under another name.
if [ -n "$(compgen -e NODE_LLAMA_CPP_CMAKE_OPTION_)" ]; then
  echo "Unset the NODE_LLAMA_CPP_CMAKE_OPTION_* variables first: this build uses node-llama-cpp's defaults" >&2
  exit 1
fi

# Negative temperature in the sampler itself: one context for both signs (see the script).
scripts/patch-node-llama-cpp.sh
echo "Building node-llama-cpp $version's CPU backend for this CPU, with OpenMP"
start=$(date +%s)
npx --no node-llama-cpp source download --gpu false --noUsageExample
build="node_modules/node-llama-cpp/llama/localBuilds/linux-$(node -p process.arch)"
library=$(find "$build" -name 'libggml-cpu.so' | head -n 1)
[ -n "$library" ] || { echo "no libggml-cpu.so under $build" >&2; exit 1; }
# ggml turns OpenMP off silently when the compiler lacks it: then this build is no better.
# (ldd's whole output first: with pipefail, `ldd | grep -q` fails when grep's early exit cuts ldd off.)
if command -v ldd >/dev/null && [[ "$(ldd "$library")" != *libgomp* ]]; then
  echo "$library is not linked to OpenMP (libgomp): is the compiler's OpenMP support installed?" >&2
  exit 1
fi
echo "Built in $(($(date +%s) - start)) s into $build"
