import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { guestFiles, type TreeEntry } from "../../src/guest-files.js";

const files = guestFiles({
  moduleStages: {
    network: ["virtio_ring", "virtio", "virtio_pci", "e1000"],
    agent: ["virtio_console"],
    entropy: ["virtio_rng"],
    power: ["button", "evdev"],
  },
  passwordHash: "$6$salt$hash",
  authorizedKey: "ssh-ed25519 AAAA test",
  kernelVersion: "6.1.0-56-amd64",
});
const file = (path: string) => {
  const entry = files.find((candidate) => candidate.path === path);
  if (entry?.kind !== "file") throw new Error(`no file ${path}`);
  return entry;
};

describe("guest files", () => {
  test("init mounts the kernel filesystems, silences the console, hands over to busybox init", () => {
    const init = file("init").content;
    expect(init.startsWith("#!/bin/sh\n")).toBe(true);
    for (const fs of ["proc", "sysfs", "devtmpfs", "devpts"]) expect(init).toContain(`-t ${fs}`);
    expect(init.indexOf("dmesg -n 1")).toBeLessThan(init.indexOf("exec /sbin/init"));
    expect(file("etc/inittab").content).toMatch(/^ttyS0::respawn:\/sbin\/getty -L 115200 ttyS0/m);
  });

  test("each service starts right after its stage of modules", () => {
    const services = file("etc/init.d/services").content;
    const at = (text: string) => services.indexOf(text);
    expect(at("virtio_ring virtio virtio_pci e1000")).toBeGreaterThan(0);
    expect(at("virtio_ring virtio virtio_pci e1000")).toBeLessThan(at("/etc/init.d/network &"));
    expect(at("/etc/init.d/network &")).toBeLessThan(at("in virtio_console;"));
    expect(at("in virtio_console;")).toBeLessThan(at("/etc/init.d/guest-agent &"));
    expect(at("/etc/init.d/guest-agent &")).toBeLessThan(at("in virtio_rng;"));
    expect(at("in virtio_rng;")).toBeLessThan(at("dropbear -R -p 22"));
  });

  test("users: root with the hash, private shadow and SSH key", () => {
    expect(file("etc/passwd").content).toBe("root:x:0:0:root:/root:/bin/sh\n");
    expect(file("etc/shadow").content.startsWith("root:$6$salt$hash:")).toBe(true);
    expect(file("etc/shadow").mode).toBe(0o600);
    expect(file("root/.ssh/authorized_keys")).toMatchObject({
      mode: 0o600,
      content: "ssh-ed25519 AAAA test\n",
    });
    const root = files.find((entry) => entry.path === "root");
    expect(root).toMatchObject({ kind: "directory", mode: 0o700 });
  });

  test("every script is valid shell", async () => {
    const directory = await mkdtemp(join(tmpdir(), "qk-scripts-"));
    try {
      const scripts = files.filter(
        (entry): entry is Extract<TreeEntry, { kind: "file" }> =>
          entry.kind === "file" && entry.content.startsWith("#!/bin/sh"),
      );
      expect(scripts.length).toBeGreaterThanOrEqual(7);
      for (const script of scripts) {
        const path = join(directory, script.path.replaceAll("/", "_"));
        await writeFile(path, script.content);
        await expect(promisify(execFile)("sh", ["-n", path]), script.path).resolves.toBeDefined();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test("/sbin/shutdown maps qemu-ga's arguments to poweroff, halt or reboot", async () => {
    const directory = await mkdtemp(join(tmpdir(), "qk-shutdown-"));
    try {
      // Run the script with its final `exec "/sbin/$action"` replaced by an echo.
      const script = file("sbin/shutdown").content.replace(
        'exec "/sbin/$action"',
        'echo "$action"',
      );
      const path = join(directory, "shutdown");
      await writeFile(path, script);
      const run = async (...args: string[]) =>
        (await promisify(execFile)("sh", [path, ...args])).stdout.trim();
      expect(await run("-h", "-P", "+0", "hypervisor initiated shutdown")).toBe("poweroff");
      expect(await run("-h", "-H", "+0", "hypervisor initiated halt")).toBe("halt");
      expect(await run("-r", "+0", "hypervisor initiated reboot")).toBe("reboot");
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
