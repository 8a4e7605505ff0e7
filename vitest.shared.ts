import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import { qemuEntryPaths } from "./tools/test-guest/src/qemu/qemu-release.js";

/**
 * The test setup every package shares.
 * - `unit`: test/unit, hermetic and fast, files in parallel.
 * - `integration`: test/integration, real QEMU, sshd and guests; one file at a time
 *   (a 2-core machine must stay steady) with generous deadlines.
 * - `integration-qemu-10.0` (with `qemuMatrix: true`): the same files again, after
 *   `integration`, on QEMU 10.0 (see `qemuProject`).
 * Sources are used directly through the `@qemu-kvm/source` export condition,
 * so no build is needed before testing.
 */
// Vite's default server conditions, with ours in front (setting `conditions` replaces them).
const conditions = ["@qemu-kvm/source", "module", "node", "development|production"];

export interface PackageTestOptions {
  /**
   * Run the integration tests on the second QEMU of the matrix too (10.0, beside the
   * system's 7.2). For packages whose integration tests start QEMU.
   */
  qemuMatrix?: boolean;
  /**
   * Tests that run both QEMUs in one file (testkit's `qemuBuilds()`): every
   * integration project gets `QEMU_KVM_QEMU10_BINARY` (the 10.0 wrapper, fetched by
   * its global setup if it is not cached yet). Implied by `qemuMatrix`.
   */
  bothQemus?: boolean;
}

/** The first executable `name` on the caller's `PATH` (before any project puts 10.0 first). */
function onPath(name: string): string | undefined {
  for (const directory of (process.env.PATH ?? "").split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/**
 * For testkit's `qemuBuilds()`: `QEMU_KVM_QEMU10_BINARY`, the caller's or else the
 * cached 10.0 wrapper, and `QEMU_KVM_QEMU7_BINARY`, the system's QEMU as the caller's
 * `PATH` finds it (in the 10.0 project, `qemu-system-x86_64` by name is 10.0).
 */
function qemuBuildsEnv(): Record<string, string> {
  const system = process.env.QEMU_KVM_QEMU7_BINARY ?? onPath("qemu-system-x86_64");
  return {
    QEMU_KVM_QEMU10_BINARY: process.env.QEMU_KVM_QEMU10_BINARY ?? qemuEntryPaths("10.0").binary,
    ...(system ? { QEMU_KVM_QEMU7_BINARY: system } : {}),
  };
}

/** What every integration project has, `name` and `groupOrder` aside. */
function integration(name: string, groupOrder: number) {
  return {
    name,
    include: ["test/integration/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
    sequence: { groupOrder },
  };
}

/**
 * `integration-qemu-10.0`: the integration files with the 10.0 wrapper's folder first
 * on `PATH` (so `qemu-system-x86_64`, found by name by the fixtures, the test guest's
 * launcher and the facade, is 10.0; testkit's sshd passes `PATH` on to its sessions),
 * `QEMU_SYSTEM` set to that name (a `QEMU_SYSTEM` of the caller's must not pick the
 * emulator here) and `QEMU_KVM_TEST_QEMU=10.0` for tests that must tell. Its global
 * setup fetches 10.0 if it is not cached yet (scripts/bootstrap does it up front); its
 * setup file fails each test file whose `qemu-system-x86_64` is not 10.0.
 */
function qemuProject(release: string, groupOrder: number): TestProjectInlineConfiguration {
  const { binDirectory } = qemuEntryPaths(release);
  return {
    extends: true,
    test: {
      ...integration(`integration-qemu-${release}`, groupOrder),
      env: {
        ...qemuBuildsEnv(),
        PATH: [binDirectory, process.env.PATH].filter(Boolean).join(delimiter),
        QEMU_SYSTEM: "qemu-system-x86_64",
        QEMU_KVM_TEST_QEMU: release,
      },
      globalSetup: [join(import.meta.dirname, "vitest.qemu-setup.ts")],
      setupFiles: [join(import.meta.dirname, "vitest.qemu-check.ts")],
    },
  };
}

export function packageTests(options: PackageTestOptions = {}) {
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
            ...integration("integration", 1),
            ...(options.qemuMatrix || options.bothQemus
              ? {
                  env: qemuBuildsEnv(),
                  globalSetup: [join(import.meta.dirname, "vitest.qemu-fetch.ts")],
                }
              : {}),
          },
        },
        ...(options.qemuMatrix ? [qemuProject("10.0", 2)] : []),
      ],
    },
  });
}
