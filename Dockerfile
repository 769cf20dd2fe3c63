# One image for the bot and the worker. For an NVIDIA GPU, build the CUDA backend of
# node-llama-cpp for your architecture at image build time (the prebuilt one lacks Hopper):
#   RUN NODE_LLAMA_CPP_CMAKE_OPTION_CMAKE_CUDA_ARCHITECTURES=90 npx --no node-llama-cpp source build --gpu cuda
# (in an image with the CUDA toolkit), and run the worker with the same NODE_LLAMA_CPP_CMAKE_OPTION_* env.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# The worker writes its negation files here (the models are mounted read-only).
RUN mkdir -p /cache && chown node:node /cache
USER node
# node itself is PID 1 (no npx in between), so SIGTERM reaches the graceful shutdown.
CMD ["node", "--import", "tsx", "src/bot/main.ts"]
