#!/usr/bin/env bash
# Builds node-llama-cpp's CUDA backend from the llama.cpp sources shipped inside the npm
# package (a git bundle: nothing is cloned from GitHub), for the GPU architectures you name.
# The prebuilt CUDA backend of node-llama-cpp 3.21.1 has no Hopper (sm_90) kernels and
# crashes at the first decode on an H100/H200, so GPU workers run this build instead.
#
#   npm ci --omit=dev && CUDA_ARCHITECTURES=90 scripts/build-cuda-backend.sh
#
# Used by the Dockerfile's cuda-build stage and on a bare GPU host alike. Needs the CUDA
# toolkit (nvcc), cmake ≥ 3.14, a C++ compiler and git; cmake-js fetches the Node headers
# for this Node version unless they are cached in ~/.cmake-js.
#
# node-llama-cpp finds a local build by a hash of its cmake options, so the worker must run
# with the same NODE_LLAMA_CPP_CMAKE_OPTION_* environment: the script prints it at the end.
#
# Env: CUDA_ARCHITECTURES (default "80;86;89;90": Ampere A100, Ampere GA10x, Ada, Hopper),
#      GGML_CUDA_FA (default OFF: its kernels multiply the build time; without them
#      llama.cpp's automatic choice leaves flash attention off).
set -euo pipefail
cd "$(dirname "$0")/.."

export NODE_LLAMA_CPP_CMAKE_OPTION_CMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-80;86;89;90}"
export NODE_LLAMA_CPP_CMAKE_OPTION_GGML_CUDA_FA="${GGML_CUDA_FA:-OFF}"
# Portable CPU code (AVX2 baseline, not -march=native: an image runs on other machines than
# the one that built it), and llama.cpp's own thread pool instead of OpenMP, as in the
# prebuilt backends (and no libgomp needed at run time).
export NODE_LLAMA_CPP_CMAKE_OPTION_GGML_NATIVE=OFF
export NODE_LLAMA_CPP_CMAKE_OPTION_GGML_OPENMP=OFF

version=$(node -p 'require("./package.json").dependencies["node-llama-cpp"]')
installed=$(node -p 'require("./node_modules/node-llama-cpp/package.json").version' 2>/dev/null || echo none)
[ "$version" = "$installed" ] || { echo "node-llama-cpp $version is in package.json but $installed is installed: run npm ci first" >&2; exit 1; }
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || { echo "nvcc not found: install the CUDA toolkit (or add /usr/local/cuda/bin to PATH)" >&2; exit 1; }
export PATH="$PATH:/usr/local/cuda/bin"

# Negative temperature in the sampler itself: one context for both signs (see the script).
scripts/patch-node-llama-cpp.sh
echo "Building node-llama-cpp $version's CUDA backend for architectures $NODE_LLAMA_CPP_CMAKE_OPTION_CMAKE_CUDA_ARCHITECTURES"
start=$(date +%s)
# "source download" clones the bundled release (offline) and compiles it; --gpu cuda never
# falls back to another backend, so a failed CUDA build fails here.
npx --no node-llama-cpp source download --gpu cuda --noUsageExample
echo "Built in $(($(date +%s) - start)) s into node_modules/node-llama-cpp/llama/localBuilds/:"
ls node_modules/node-llama-cpp/llama/localBuilds/

cat <<ENV

Run the worker with LLAMA_GPU=cuda and exactly these variables (e.g. append them to .env):
NODE_LLAMA_CPP_CMAKE_OPTION_CMAKE_CUDA_ARCHITECTURES=$NODE_LLAMA_CPP_CMAKE_OPTION_CMAKE_CUDA_ARCHITECTURES
NODE_LLAMA_CPP_CMAKE_OPTION_GGML_CUDA_FA=$NODE_LLAMA_CPP_CMAKE_OPTION_GGML_CUDA_FA
NODE_LLAMA_CPP_CMAKE_OPTION_GGML_NATIVE=$NODE_LLAMA_CPP_CMAKE_OPTION_GGML_NATIVE
NODE_LLAMA_CPP_CMAKE_OPTION_GGML_OPENMP=$NODE_LLAMA_CPP_CMAKE_OPTION_GGML_OPENMP
ENV
