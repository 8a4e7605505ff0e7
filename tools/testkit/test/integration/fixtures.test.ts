import { existsSync } from "node:fs";
import { expect } from "vitest";
import { test } from "../../src/fixtures.js";
import { isAliveNow } from "../../src/index.js";

let previous: { tempDir: string; qemuPid: number; qemuDir: string; sshdPort: number } | undefined;

test("tempDir, launchQemu and sshd give live things", async ({ tempDir, launchQemu, sshd }) => {
  expect(existsSync(tempDir.path)).toBe(true);
  const qemu = await launchQemu();
  expect(isAliveNow(qemu.pid)).toBe(true);
  previous = { tempDir: tempDir.path, qemuPid: qemu.pid, qemuDir: qemu.dir, sshdPort: sshd.port };
});

test("after a test, its temp dir and QEMU are gone; sshd lives for the whole file", async ({
  sshd,
}) => {
  expect(previous).toBeDefined();
  expect(existsSync(previous!.tempDir)).toBe(false);
  expect(existsSync(previous!.qemuDir)).toBe(false);
  expect(isAliveNow(previous!.qemuPid)).toBe(false);
  expect(sshd.port).toBe(previous!.sshdPort);
  expect(sshd.pid !== undefined && isAliveNow(sshd.pid)).toBe(true);
});
