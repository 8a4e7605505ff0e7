import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import {
  commandLineNames,
  pidsNaming,
  removeLeftoversSync,
} from "../../src/benchmarks/vm/leftovers.js";

const made: string[] = [];
afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "qk-leftovers-"));
  made.push(dir);
  return dir;
}

describe("commandLineNames", () => {
  const dir = "/tmp/qk-bench-vm-AbC123";
  test("an argument that is the directory, a path in it, or a QEMU option naming it", () => {
    expect(commandLineNames(`qemu\0-pidfile\0${dir}/rt/vms/a/qemu.pid\0`, dir)).toBe(true);
    expect(commandLineNames(`sh\0-c\0script\0${dir}\0`, dir)).toBe(true);
    expect(commandLineNames(`qemu\0-chardev\0socket,path=${dir}/rt/q.sock,server=on\0`, dir)).toBe(
      true,
    );
  });
  test("not another directory whose name starts the same, nor nothing", () => {
    expect(commandLineNames(`qemu\0-pidfile\0${dir}x/qemu.pid\0`, dir)).toBe(false);
    expect(commandLineNames("", dir)).toBe(false);
  });
});

test("pidsNaming reads every numeric entry's cmdline, skipping others and this process", async () => {
  const proc = await tempDir();
  const dir = "/tmp/qk-bench-vm-Zz9";
  const entry = async (name: string, cmdline?: string) => {
    await mkdir(join(proc, name));
    if (cmdline !== undefined) await writeFile(join(proc, name, "cmdline"), cmdline);
  };
  await entry("101", `qemu-system-x86_64\0-name\0a\0-pidfile\0${dir}/rt/a/qemu.pid\0`);
  await entry("102", "qemu-system-x86_64\0-name\0someone-else\0");
  await entry("103"); // gone between readdir and read
  await entry("self", `${dir}/x\0`);
  await entry(String(process.pid), `node\0${dir}/x\0`);
  await entry("104", `/bin/sh\0-c\0anchor\0${dir}/pool\0`);
  expect(pidsNaming(dir, proc).sort()).toEqual([101, 104]);
});

test("removeLeftoversSync kills what names the directory and removes it", async () => {
  const dir = await tempDir();
  // One process each (no shell that would leave its own child behind), naming a path in its argv.
  const idle = (path: string) =>
    spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)", path], { stdio: "ignore" });
  const child = idle(join(dir, "vm"));
  await once(child, "spawn");
  const other = idle("/somewhere/else");
  await once(other, "spawn");
  try {
    removeLeftoversSync(dir);
    const [, signal] = await once(child, "exit");
    expect(signal).toBe("SIGKILL");
    expect(other.exitCode).toBeNull();
    expect(other.signalCode).toBeNull();
    expect(existsSync(dir)).toBe(false);
  } finally {
    child.kill("SIGKILL");
    other.kill("SIGKILL");
  }
});

test("removeLeftoversSync never throws, also for a directory that is not there", () => {
  expect(() => removeLeftoversSync("/nonexistent/qk-bench-vm-none")).not.toThrow();
});
