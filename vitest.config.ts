import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // a PostgreSQL run shares one server: keep the parallelism modest
    maxWorkers: 2,
  },
});
