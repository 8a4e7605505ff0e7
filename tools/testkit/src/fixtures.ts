import type { test as vitestTest } from "vitest";
import { type QemuFixture, type QemuOptions, startQemu } from "./qemu.js";
import { type SshdFixture, startSshd } from "./sshd.js";
import { makeTempDir, type TempDir } from "./temp-dir.js";

/**
 * Vitest fixtures, imported from `@qemu-kvm/testkit/fixtures` (only inside a vitest
 * run: `test.extend` throws elsewhere, e.g. in the benchmarks, which use the index).
 */

/** Starts QEMU processes for one test; every one is stopped when the test ends, pass or fail. */
export type LaunchQemu = (options?: QemuOptions) => Promise<QemuFixture>;

/**
 * vitest, imported only in a vitest run (vitest sets `VITEST`). Outside one (a
 * benchmark importing testkit for `startSshd`), importing it is not harmless: a
 * second copy of vitest in the same process, as when `pnpm bench --against` loads
 * the benchmarks of two trees, throws at import ("failed to access its internal state").
 */
const vitest = process.env.VITEST ? await import("vitest") : undefined;

/**
 * True while vitest collects a test file, the only time `test.extend` can run (a
 * process started by a test inherits `VITEST` but is no test run).
 */
function collectingTests(runner: NonNullable<typeof vitest>): boolean {
  try {
    runner.TestRunner.getCurrentSuite();
    return true;
  } catch {
    return false;
  }
}

// vitest reads each fixture's first parameter: it must be an object pattern, `{}` when
// the fixture uses no other fixture.
function withFixtures(base: typeof vitestTest) {
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

type TestWithFixtures = ReturnType<typeof withFixtures>;

function notInVitest(): never {
  throw new Error("@qemu-kvm/testkit's test runs only inside vitest");
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
 * Outside a test run, `test` only throws, and importing testkit loads no vitest.
 */
export const test: TestWithFixtures =
  vitest && collectingTests(vitest)
    ? withFixtures(vitest.test)
    : ((vitest?.test ?? notInVitest) as unknown as TestWithFixtures);
