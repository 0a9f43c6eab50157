import { defineConfig } from "vitest/config";

// convex-test's recommended setup: the Convex runtime is closest to the edge runtime.
export default defineConfig({
  test: {
    environment: "edge-runtime",
    include: ["convex/**/*.test.ts", "server/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
  },
});
