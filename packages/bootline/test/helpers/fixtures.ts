/**
 * `test` with testkit's fixtures (`tempDir`, `launchQemu`) and one of its own:
 * `memoryDir`, a private directory for a memory backend file, on tmpfs
 * (/dev/shm) when there is one (no hugepages are reserved on these machines).
 * Everything is removed after each test, pass or fail.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test as testkit } from "@qemu-kvm/testkit/fixtures";

export const test = testkit.extend("memoryDir", async ({}, { onCleanup }): Promise<string> => {
  const dir = await mkdtemp("/dev/shm/qk-bl-").catch(() => mkdtemp(join(tmpdir(), "qk-bl-")));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
});
