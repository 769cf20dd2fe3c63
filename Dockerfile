# One image for the bot and the worker. For an NVIDIA GPU, build the CUDA backend of
# node-llama-cpp for your architecture at image build time (the prebuilt one lacks Hopper):
#   docker build --build-arg CUDA_ARCHITECTURES=90 -f Dockerfile.cuda .
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx@4.23.15
COPY tsconfig.json ./
COPY src ./src
USER node
CMD ["npx", "tsx", "src/bot/main.ts"]
