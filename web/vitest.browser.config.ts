// Browser tests: playwright-core drives Debian's Chromium against the real server built
// from this checkout (see tests/browser/harness.ts). One file at a time, in one fork:
// each file starts its own server and browser, and the machine may have only 2 cores.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["tests/browser/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A browser test that fails is a finding, not a flake to retry.
    retry: 0,
  },
});
