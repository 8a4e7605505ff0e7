import { test as base } from "vitest";
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
 * `test`, with the fixtures integration tests share (vitest `test.extend`),
 * each cleaned up after its scope even when a test fails:
 * - `tempDir`: a private (0700) temporary directory, removed after the test;
 * - `launchQemu(options)`: `startQemu` whose processes and directories are
 *   removed after the test;
 * - `sshd`: a real OpenSSH server on loopback, one per test file (started on
 *   first use, closed after the file).
 */
export const test = base
  .extend("tempDir", async ({}, { onCleanup }): Promise<TempDir> => {
    const dir = await makeTempDir();
    onCleanup(() => dir.remove());
    return dir;
  })
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
  .extend("sshd", { scope: "file" }, async ({}, { onCleanup }): Promise<SshdFixture> => {
    const sshd = await startSshd();
    onCleanup(() => sshd.close());
    return sshd;
  });
