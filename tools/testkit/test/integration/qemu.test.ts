import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "vitest";
import { test } from "../../src/fixtures.js";
import { startQemu, waitUntilGone } from "../../src/index.js";

test("startQemu gives a QMP socket that greets, and stop() removes everything", async ({
  launchQemu,
}) => {
  const qemu = await launchQemu();
  const greeting = await new Promise<string>((resolve, reject) => {
    const socket = createConnection(qemu.qmpPath);
    socket.setEncoding("utf8").once("data", (data: string) => {
      socket.destroy();
      resolve(data);
    });
    socket.once("error", reject);
  });
  expect(JSON.parse(greeting).QMP.version.qemu.major).toBeGreaterThanOrEqual(7);
  await qemu.stop();
  expect((await qemu.exited).signal).toBe("SIGKILL");
  expect(existsSync(qemu.dir)).toBe(false);
});

test("startQemu rejects with QEMU's stderr when QEMU refuses its arguments", async () => {
  await expect(startQemu({ args: ["-device", "no-such-device"] })).rejects.toThrow(
    /no-such-device/,
  );
});

test("startQemu({ defaults: false }) runs the caller's command line, adding only its QMP socket", async ({
  launchQemu,
}) => {
  const args = ["-machine", "none", "-nodefaults", "-display", "none", "-accel", "tcg"];
  const qemu = await launchQemu({ defaults: false, args });
  const argv = readFileSync(`/proc/${qemu.pid}/cmdline`, "utf8").split("\0").slice(1, -1);
  expect(argv).toEqual(["-qmp", `unix:${qemu.qmpPath},server=on,wait=off`, ...args]);
});

test("a process that exits without stop() takes its QEMU and the runtime directory with it", async () => {
  const source = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
  const script = `const { startQemu } = await import(${JSON.stringify(source)});
const qemu = await startQemu();
console.log(JSON.stringify({ pid: qemu.pid, dir: qemu.dir }));
process.exit(0);`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    { cwd: fileURLToPath(new URL(".", import.meta.url)), timeout: 120_000 },
  );
  const { pid, dir } = JSON.parse(stdout) as { pid: number; dir: string };
  await waitUntilGone(pid, 30_000);
  expect(existsSync(dir)).toBe(false);
});
