#!/usr/bin/env bash
# belowzero's GPU check, as `npm run gpu:stage -- DIR` wrote it (see docs/deploy.md, "GPU check").
# On a bare Linux host with an NVIDIA GPU, the CUDA toolkit (nvcc), cmake, ninja, gcc/g++ and
# python3, with no Node, npm or network: unpacks Node and the project, applies the
# negative-temperature patch, builds node-llama-cpp's CUDA backend for the GPU it finds and stock
# llama.cpp's llama-bench against the same compiled ggml, writes random-weight 1.1B and 7B F16
# models with LLaMA 2's vocabulary, and prints one table. Every step is timed; a failing step
# says so in one line, shows the end of its log and stops the run.
#
#   bash DIR/run.sh                              the GPU check (aim: under 10 minutes on one H100)
#   BELOWZERO_GPU_CHECK_CPU=1 bash DIR/run.sh    the same on the CPU: small shapes, ≤ 2 threads
#   BELOWZERO_GPU_CHECK_WORK=PATH                where it unpacks, builds and writes (default DIR/work)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work="${BELOWZERO_GPU_CHECK_WORK:-$here/work}"
cpu="${BELOWZERO_GPU_CHECK_CPU:-0}"
app="$work/app"
logs="$work/logs"
rm -rf "$work"
mkdir -p "$logs" "$app"
began=$(date +%s)
export PATH="$app/bin:$PATH"

# step NAME TIMEOUT_S COMMAND...: runs it with its output in $logs/NAME.log, timed. The limits are
# for the GPU host (16 cores); the CPU dry run compiles on what this machine has, so it waits 4× longer.
step() {
  local name=$1 limit=$2 start rc
  [ "$cpu" = 1 ] && limit=$((limit * 4))
  shift 2
  start=$(date +%s.%N)
  # Through bash, so that a step may be one of the functions below (exported to it).
  timeout "$limit" bash -c '"$@"' step "$@" >"$logs/$name.log" 2>&1
  rc=$?
  local took
  took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc -eq 0 ]; then
    printf 'ok      %-12s %6s s\n' "$name" "$took"
    return 0
  fi
  [ $rc -eq 124 ] && why="timed out after $limit s" || why="exit $rc"
  printf 'FAILED  %-12s %6s s: %s; the end of %s:\n' "$name" "$took" "$why" "$logs/$name.log"
  tail -n 40 "$logs/$name.log" | sed 's/^/        /'
  echo "GPU check stopped at step $name, $(($(date +%s) - began)) s in."
  exit 1
}

unpack() {
  tar -xzf "$here/belowzero.tar.gz" -C "$app" && gzip -dc "$here/node.gz" >"$app/bin/node" || return 1
  chmod +x "$app/bin/node" "$app/bin/npm"
  # A host whose glibc or libstdc++ is older than the Node binary needs says so here.
  node -e 'console.log(`node ${process.version} runs (${process.platform}-${process.arch}, glibc ${process.report.getReport().header.glibcVersionRuntime})`)'
}

find_gpu() {
  if [ "$cpu" = 1 ]; then
    echo "CPU dry run: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
    return 0
  fi
  command -v nvidia-smi >/dev/null || { echo "nvidia-smi not found: no NVIDIA driver on this host"; return 1; }
  nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader || return 1
  export PATH="$PATH:/usr/local/cuda/bin"
  command -v nvcc >/dev/null || { echo "nvcc not found (nor in /usr/local/cuda/bin): install the CUDA toolkit"; return 1; }
  nvcc --version | tail -n 2
  for tool in cmake ninja g++; do command -v $tool >/dev/null || { echo "$tool not found"; return 1; }; done
}

export here work cpu app logs
export -f unpack find_gpu
cd "$app" || exit 1
step unpack 120 unpack
step gpu 30 find_gpu
cat "$logs/gpu.log"

if [ "$cpu" = 1 ]; then
  # As npm run build:cpu-backend builds it: node-llama-cpp's defaults (this CPU, OpenMP).
  gpu=false
else
  architecture=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d ' .')
  export PATH="$PATH:/usr/local/cuda/bin"
  # As scripts/build-cuda-backend.sh builds it for the worker image, for this GPU only. The check
  # runs with the same variables, as the worker must (node-llama-cpp finds its build by them).
  export NODE_LLAMA_CPP_CMAKE_OPTION_CMAKE_CUDA_ARCHITECTURES="$architecture"
  export NODE_LLAMA_CPP_CMAKE_OPTION_GGML_CUDA_FA=OFF
  export NODE_LLAMA_CPP_CMAKE_OPTION_GGML_NATIVE=OFF
  export NODE_LLAMA_CPP_CMAKE_OPTION_GGML_OPENMP=OFF
  gpu=cuda
fi

step patch 30 bash scripts/patch-node-llama-cpp.sh
step backend 480 node node_modules/node-llama-cpp/dist/cli/cli.js source build --gpu "$gpu" --noUsageExample

# Stock llama-bench from the same sources, in the backend's own build tree: configured again with
# llama.cpp's tools on, only the llama-bench target is built, so it links the ggml and libllama
# the backend build just compiled (one compiled ggml for both sides).
llama_bench() {
  local build bench
  build=$(dirname "$(find node_modules/node-llama-cpp/llama/localBuilds -maxdepth 2 -name CMakeCache.txt | head -n 1)")
  [ -f "$build/CMakeCache.txt" ] || { echo "no build tree under node_modules/node-llama-cpp/llama/localBuilds"; return 1; }
  cmake -S node_modules/node-llama-cpp/llama -B "$build" -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=OFF &&
    cmake --build "$build" --target llama-bench --config Release || return 1
  bench=$(find "$build" -type f -name llama-bench -perm -u+x | head -n 1)
  [ -n "$bench" ] || { echo "the build made no llama-bench"; return 1; }
  ln -sf "$(cd "$(dirname "$bench")" && pwd)/llama-bench" "$work/llama-bench"
  ldd "$bench" | grep -E 'ggml|llama'
}
export -f llama_bench
step llama-bench 240 llama_bench
step models 300 node app/gpu-check.mjs models "$work/models" "$app/vocab/ggml-vocab-llama-spm.gguf"
cat "$logs/models.log"
step measure 420 node app/gpu-check.mjs measure "$work/models" "$work/llama-bench" "$gpu"
cat "$logs/measure.log"
echo "GPU check done in $(($(date +%s) - began)) s (logs: $logs)."
