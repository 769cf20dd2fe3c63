import { defineConfig } from "vitest/config";

// npm run test:docker — builds the images and runs the compose stack in a real Docker engine
// (../shared/tools/docker-local.sh up). Not part of npm test: it needs the engine and minutes.
export default defineConfig({
  test: {
    include: ["test/docker/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    // Building the images from scratch reaches the npm registry and compiles TypeScript.
    hookTimeout: 20 * 60_000,
  },
});
