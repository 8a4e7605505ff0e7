import { test as base, TestRunner } from "vitest";
import { type QemuFixture, type QemuOptions, startQemu } from "./qemu.js";
import { type SshdFixture, startSshd } from "./sshd.js";
import { makeTempDir, type TempDir } from "./temp-dir.js";

/** Starts QEMU processes for one test; every one is stopped when the test ends, pass or fail. */
export type LaunchQemu = (options?: QemuOptions) => Promise<QemuFixture>;

/**
 * True while vitest collects a test file, the only time vitest's `test.extend` can
 * run: outside a test run (a benchmark or script importing testkit for `startSshd`)
 * it throws at import.
 */
function collectingTests(): boolean {
  try {
    TestRunner.getCurrentSuite();
    return true;
  } catch {
    return false;
  }
}

// vitest reads each fixture's first parameter: it must be an object pattern, `{}` when
// the fixture uses no other fixture.
function withFixtures() {
  return (
    base
      // biome-ignore lint/correctness/noEmptyPattern: vitest needs the pattern (see above)
      .extend("tempDir", async ({}, { onCleanup }): Promise<TempDir> => {
        const dir = await makeTempDir();
        onCleanup(() => dir.remove());
        return dir;
      })
      // biome-ignore lint/correctness/noEmptyPattern: vitest needs the pattern (see above)
      .extend("launchQemu", async ({}, { onCleanup }): Promise<LaunchQemu> => {
        const started: QemuFixture[] = [];
        onCleanup(async () => {
          await Promise.all(started.map((qemu) => qemu.stop()));
        });
        return async (options) => {
          const qemu = await startQemu(options);
          started.push(qemu);
          return qemu;
        };
      })
      // biome-ignore lint/correctness/noEmptyPattern: vitest needs the pattern (see above)
      .extend("sshd", { scope: "file" }, async ({}, { onCleanup }): Promise<SshdFixture> => {
        const sshd = await startSshd();
        onCleanup(() => sshd.close());
        return sshd;
      })
  );
}

/**
 * `test`, with the fixtures integration tests share (vitest `test.extend`),
 * each cleaned up after its scope even when a test fails:
 * - `tempDir`: a private (0700) temporary directory, removed after the test;
 * - `launchQemu(options)`: `startQemu` whose processes and directories are
 *   removed after the test;
 * - `sshd`: a real OpenSSH server on loopback, one per test file (started on
 *   first use, closed after the file).
 *
 * Outside a test run, `test` is vitest's plain `test` (which cannot run there
 * either), so a benchmark or script can import testkit.
 */
export const test: ReturnType<typeof withFixtures> = collectingTests()
  ? withFixtures()
  : (base as unknown as ReturnType<typeof withFixtures>);
