#!/usr/bin/env bash
# Builds stock llama.cpp (llama-completion, CPU, OpenMP) once from the llama.cpp sources that
# ship inside the installed node-llama-cpp package, into a cache outside the repository, so
# `npm run bench` can measure belowzero against it on the same llama.cpp commit.
#   npm run bench:build-stock        (BELOWZERO_BENCH_CACHE, default ~/.cache/belowzero-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${BELOWZERO_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/belowzero-bench}"
bundle="node_modules/node-llama-cpp/llama/gitRelease.bundle"
version="$(node -p 'require("./node_modules/node-llama-cpp/package.json").version')"
source="$cache/llama.cpp-$version"
mkdir -p "$cache"
[ -d "$source/.git" ] || git clone --quiet "$bundle" "$source"
cmake -S "$source" -B "$source/build" -DCMAKE_BUILD_TYPE=Release -DGGML_OPENMP=ON -DGGML_NATIVE=ON \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
cmake --build "$source/build" --target llama-completion -j "$(nproc)"
ln -sf "$source/build/bin/llama-completion" "$cache/llama-completion"
echo "built $cache/llama-completion (llama.cpp from node-llama-cpp $version)"
