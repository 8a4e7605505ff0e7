import { defineConfig } from "vitest/config";

/**
 * The test setup every package shares.
 * - `unit`: test/unit, hermetic and fast, files in parallel.
 * - `integration`: test/integration, real QEMU, sshd and guests; one file at a time
 *   (a 2-core machine must stay steady) with generous deadlines.
 * Sources are used directly through the `@qemu-kvm/source` export condition,
 * so no build is needed before testing.
 */
// Vite's default server conditions, with ours in front (setting `conditions` replaces them).
const conditions = ["@qemu-kvm/source", "module", "node", "development|production"];

export function packageTests() {
  return defineConfig({
    ssr: { resolve: { conditions } },
    resolve: { conditions },
    test: {
      passWithNoTests: false,
      projects: [
        {
          extends: true,
          test: { name: "unit", include: ["test/unit/**/*.test.ts"] },
        },
        {
          extends: true,
          test: {
            name: "integration",
            include: ["test/integration/**/*.test.ts"],
            fileParallelism: false,
            testTimeout: 180_000,
            hookTimeout: 600_000,
            sequence: { groupOrder: 1 },
          },
        },
      ],
    },
  });
}
