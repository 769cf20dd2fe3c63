# belowzero images. Targets:
#   app          (default for the CPU) the bot and the CPU worker: compiled JavaScript, production
#                dependencies, Node 22.   docker build --target app -t belowzero .
#   worker-native  the CPU worker on node-llama-cpp's CPU backend built from source for the
#                building machine's CPU, with OpenMP (scales with threads; runs only on CPUs
#                with the builder's instructions).
#                                         docker build --target worker-native -t belowzero:native .
#   worker-cuda  the GPU worker, with node-llama-cpp's CUDA backend built from source for
#                CUDA_ARCHITECTURES.      docker build --target worker-cuda -t belowzero:cuda .
# The CPU stages come first: the legacy builder (no BuildKit) builds every stage up to the
# target, and the CUDA base images are only needed for worker-cuda.
ARG NODE_IMAGE=node:22-bookworm-slim
ARG CUDA_VERSION=12.8.1
ARG CUDA_UBUNTU=ubuntu24.04
# Ampere (A100 = 80, RTX 30xx/A10/A40 = 86), Ada (89), Hopper (H100/H200 = 90).
ARG CUDA_ARCHITECTURES="80;86;89;90"
# Flash attention's kernels multiply the CUDA build time; without them llama.cpp's automatic
# choice (node-llama-cpp's default) leaves flash attention off.
ARG GGML_CUDA_FA=OFF

FROM ${NODE_IMAGE} AS node

# ---- build: every dependency, TypeScript compiled to dist/ ------------------------------------
FROM node AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Compiling needs no native parts: no install scripts (as on the developers' npm 11) and no
# optional packages (the ~650 MB of prebuilt llama.cpp backends).
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=optional
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- production dependencies for the CPU image --------------------------------------------------
FROM node AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# node-llama-cpp's prebuilt binaries work without its postinstall, skipped as on npm 11.
# Only this platform's CPU backend stays: the prebuilt CUDA and Vulkan backends are ~620 MB
# the CPU image never loads (the GPU image builds its own).
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && keep="linux-$(node -p process.arch)" \
 && for dir in node_modules/@node-llama-cpp/*; do [ "${dir##*/}" = "$keep" ] || rm -rf "$dir"; done \
 && npm cache clean --force

# ---- app: bot and CPU worker ---------------------------------------------------------------------
FROM node AS app
ENV NODE_ENV=production \
    BELOWZERO_CACHE_DIR=/cache \
    METRICS_PORT=9464
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The worker writes its negation files here (the models are mounted read-only).
RUN mkdir -p /cache && chown node:node /cache
VOLUME /cache
USER node
EXPOSE 9464
# /healthz: Redis ready, and the gateway logged in (bot) or the queue consumer running (worker).
# The worker loads its model first; compose gives it a longer start period.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "dist/healthcheck.js"]
# node itself is PID 1 (no npm in between), so SIGTERM reaches the graceful shutdown.
CMD ["node", "dist/bot/shards.js"]

# ---- cpu-build: node-llama-cpp's CPU backend built for this machine's CPU, with OpenMP -----------
FROM node AS cpu-build
# With ninja, cmake-js compiles on every core (with make, on one).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake ninja-build g++ make git patch ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
# The build applies the negative-temperature patch to node-llama-cpp's addon sources first.
COPY patches ./patches
COPY scripts/build-cpu-backend.sh scripts/patch-node-llama-cpp.sh ./scripts/
# node-llama-cpp loads a local build from its Release folder once buildDone.status is there;
# the sources and intermediates stay behind.
RUN scripts/build-cpu-backend.sh \
 && find node_modules/node-llama-cpp/llama/localBuilds/* -mindepth 1 -maxdepth 1 \
      ! -name Release ! -name buildDone.status -exec rm -rf {} +

# ---- worker-native: the CPU worker on that build. Build it on the machine that runs it: on a CPU
# without the builder's instructions it dies of an illegal instruction at the first step. ----------
FROM app AS worker-native
USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libgomp1 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
COPY --from=cpu-build /app/node_modules/node-llama-cpp/llama/localBuilds ./node_modules/node-llama-cpp/llama/localBuilds
# One libuv pool thread, so one OpenMP team (why: scripts/thread-pool.cjs).
ENV UV_THREADPOOL_SIZE=1
USER node
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["node", "dist/healthcheck.js"]
CMD ["node", "dist/worker/main.js"]

# ---- cuda-build: node-llama-cpp's CUDA backend for CUDA_ARCHITECTURES ---------------------------
FROM nvidia/cuda:${CUDA_VERSION}-devel-${CUDA_UBUNTU} AS cuda-build
ARG CUDA_ARCHITECTURES
ARG GGML_CUDA_FA
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cmake g++ make git patch ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /app
COPY package.json package-lock.json ./
# No prebuilt backend at all: the worker can load only the build below (the prebuilt CUDA one
# would load on Hopper and crash at the first decode).
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && rm -rf node_modules/@node-llama-cpp \
 && npm cache clean --force
COPY patches ./patches
COPY scripts/build-cuda-backend.sh scripts/patch-node-llama-cpp.sh ./scripts/
# The build links against the driver stub; the real libcuda.so.1 comes with the NVIDIA
# container runtime when the worker starts.
RUN CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES}" GGML_CUDA_FA="${GGML_CUDA_FA}" scripts/build-cuda-backend.sh \
 && rm -rf node_modules/node-llama-cpp/llama/llama.cpp /root/.cmake-js

# ---- worker-cuda: the GPU worker -----------------------------------------------------------------
FROM nvidia/cuda:${CUDA_VERSION}-runtime-${CUDA_UBUNTU} AS worker-cuda
ARG CUDA_ARCHITECTURES
ARG GGML_CUDA_FA
# Exactly the options scripts/build-cuda-backend.sh built with (test/ship/cudaBuild.test.ts
# checks they agree): node-llama-cpp finds its local build by a hash of them.
ENV NODE_ENV=production \
    BELOWZERO_CACHE_DIR=/cache \
    METRICS_PORT=9464 \
    LLAMA_GPU=cuda \
    NODE_LLAMA_CPP_CMAKE_OPTION_CMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES} \
    NODE_LLAMA_CPP_CMAKE_OPTION_GGML_CUDA_FA=${GGML_CUDA_FA} \
    NODE_LLAMA_CPP_CMAKE_OPTION_GGML_NATIVE=OFF \
    NODE_LLAMA_CPP_CMAKE_OPTION_GGML_OPENMP=OFF
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system belowzero && useradd --system --gid belowzero --home-dir /app belowzero \
 && mkdir -p /cache && chown belowzero:belowzero /cache
WORKDIR /app
COPY --from=cuda-build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
VOLUME /cache
USER belowzero
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 CMD ["node", "dist/healthcheck.js"]
CMD ["node", "dist/worker/main.js"]
