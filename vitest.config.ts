import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // test/docker needs a Docker engine: npm run test:docker.
    exclude: [...configDefaults.exclude, "test/docker/**"],
    setupFiles: ["test/setup.ts"],
    globalSetup: ["test/globalSetup.ts"],
    // Native llama.cpp contexts are safest in child processes; one file at a time keeps
    // the two cores of CI from being oversubscribed by several models at once.
    pool: "forks",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
