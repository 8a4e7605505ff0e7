/**
 * Real QEMU 7.2: a drive or pflash path is a file, whatever it holds. Files named
 * like QEMU block protocols (`nbd:HOST:PORT`, `json:{…}`, `vm:1.img`) are opened as
 * files from the directory QEMU runs in, and QEMU connects to nothing; written the
 * way bootline wrote drives before (`file=`), the same name makes QEMU connect.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { buildArgs, type VmSpec } from "@qemu-kvm/bootline";
import { QEMU, waitForPath } from "@qemu-kvm/testkit";
import { describe, expect, type TestContext } from "vitest";
import { test } from "../helpers/fixtures.js";
import { Qmp } from "../helpers/qemu.js";

/** A TCP server on 127.0.0.1 that counts the connections it is offered (and closes them). */
async function connectionCounter(
  onTestFinished: TestContext["onTestFinished"],
): Promise<{ port: number; count: () => number; first: Promise<void> }> {
  let count = 0;
  let seen!: () => void;
  const first = new Promise<void>((resolve) => (seen = resolve));
  const server: Server = createServer((socket) => {
    count++;
    seen();
    socket.destroy();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { port: address.port, count: () => count, first };
}

/** QEMU started from `cwd` with `args` (no shell), killed when the test ends. */
function startIn(
  cwd: string,
  args: readonly string[],
  onTestFinished: TestContext["onTestFinished"],
): ChildProcess {
  const child = spawn(QEMU, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  const exited = once(child, "exit");
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return child;
}

/**
 * QEMU's QMP socket, once it answers. QEMU binds the socket (the path appears) a
 * moment before it listens: a refused connection is tried again while QEMU runs.
 */
async function connectQmp(path: string, child: ChildProcess): Promise<Qmp> {
  await waitForPath(path, { timeoutMs: 60_000 });
  for (;;) {
    try {
      return await Qmp.connect(path);
    } catch (error) {
      const refused = (error as NodeJS.ErrnoException).code === "ECONNREFUSED";
      if (!refused || child.exitCode !== null || child.signalCode !== null) throw error;
      await delay(10);
    }
  }
}

describe("drive and pflash paths are files to QEMU", () => {
  test("files named nbd:…, json:{…} and vm:1.img are opened as files, and QEMU connects to nothing", async ({
    tempDir,
    onTestFinished,
  }) => {
    const nbd = await connectionCounter(onTestFinished);
    const names = {
      nbd: `nbd:127.0.0.1:${nbd.port}`,
      json: `json:{"driver":"nbd","server":{"type":"inet","host":"127.0.0.1","port":"${nbd.port}"}}`,
      plain: "vm:1.img",
      flash: "vm:code.fd",
    };
    for (const name of [names.nbd, names.json, names.plain])
      await writeFile(join(tempDir.path, name), Buffer.alloc(1024 * 1024));
    await writeFile(join(tempDir.path, names.flash), Buffer.alloc(2 * 1024 * 1024));
    const spec: VmSpec = {
      name: "bl-paths",
      runtimeDir: tempDir.path,
      accelerator: "tcg",
      paused: true,
      machine: { type: "pc" },
      qmp: {},
      drives: [
        { path: names.nbd, format: "raw", interface: "virtio" },
        { path: names.json, interface: "ide", media: "cdrom" },
        { path: names.plain, format: "raw", interface: "none", snapshot: true },
      ],
      pflash: [{ path: names.flash, readOnly: true }],
    };
    const child = startIn(tempDir.path, buildArgs(spec), onTestFinished);
    const qmp = await connectQmp(join(tempDir.path, "qmp.sock"), child);
    onTestFinished(() => qmp.close());
    const blocks =
      await qmp.execute<
        { device: string; inserted?: { file: string; drv: string; ro: boolean } }[]
      >("query-block");
    const inserted = new Map(blocks.map((block) => [block.device, block.inserted]));
    expect(inserted.get("drive0")).toMatchObject({ file: names.nbd, drv: "raw" });
    expect(inserted.get("drive1")).toMatchObject({ file: names.json, drv: "raw", ro: true });
    // snapshot=on: QEMU writes to a temporary overlay whose backing file is ours.
    expect(inserted.get("drive2")?.file).toContain(
      `"file": {"driver": "file", "filename": "${names.plain}"}`,
    );
    expect(inserted.get("pflash0")).toMatchObject({ file: names.flash, ro: true });
    expect(nbd.count()).toBe(0);
  });

  test("the same name written as file= (as bootline wrote drives before) makes QEMU connect", async ({
    tempDir,
    onTestFinished,
  }) => {
    const nbd = await connectionCounter(onTestFinished);
    const name = `nbd:127.0.0.1:${nbd.port}`;
    await writeFile(join(tempDir.path, name), Buffer.alloc(1024 * 1024));
    const child = startIn(
      tempDir.path,
      [
        "-accel",
        "tcg",
        "-nodefaults",
        "-display",
        "none",
        "-S",
        "-drive",
        `file=${name},format=raw,if=none,id=drive0`,
      ],
      onTestFinished,
    );
    // QEMU opens the NBD connection while it sets up, then gives up on a server that does not speak NBD.
    const first = await Promise.race([
      nbd.first.then(() => "connected"),
      once(child, "exit").then(() => "exited without connecting"),
    ]);
    expect(first).toBe("connected");
  });
});
