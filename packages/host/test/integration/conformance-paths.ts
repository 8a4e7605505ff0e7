/** The conformance suite's directories and files by name: makeDir, readDir, stat, rename, putFile. */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { chownSync, existsSync, lstatSync, readdirSync, statSync, watch } from "node:fs";
import { chmod, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect } from "vitest";
import type { OperationMessage } from "../../src/index.js";
import { type ConformanceTest, echoServer, sha256 } from "../helpers/conformance-test.js";

const invalid = (field: string) => expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field });

const refused = (systemCode: string, path?: string) =>
  expect.objectContaining({ code: "ERR_HOST_SYSTEM", systemCode, ...(path ? { path } : {}) });

/** The mode bits of `path` now, not following a symlink. */
const modeOf = (path: string) => lstatSync(path).mode & 0o7777;

export function pathSuites(test: ConformanceTest): void {
  describe("directories", () => {
    test("makeDir creates one directory with exactly its mode, whatever the umask; an existing path is EEXIST", async ({
      host,
      dir,
    }) => {
      const vm = join(dir, "vm1");
      await host.makeDir(vm);
      expect(statSync(vm).isDirectory()).toBe(true);
      expect(modeOf(vm)).toBe(0o700);
      // Group-writable: a umask of 022 would take that bit away.
      await host.makeDir(join(dir, "shared"), { mode: 0o2775 });
      expect(modeOf(join(dir, "shared"))).toBe(0o2775);
      await expect(host.makeDir(vm)).rejects.toEqual(refused("EEXIST", vm));
      await expect(host.makeDir(join(dir, "no", "vm"))).rejects.toEqual(refused("ENOENT"));
      await expect(host.makeDir(join(dir, "late"), { timeoutMs: 0 })).rejects.toMatchObject({
        code: "ERR_TIMEOUT",
      });
      expect(existsSync(join(dir, "late"))).toBe(false);
      expect(() => host.makeDir("")).toThrow(invalid("path"));
      expect(() => host.makeDir(vm, { mode: 0o10000 })).toThrow(invalid("mode"));
      expect(() => host.makeDir(vm, { recursive: true } as never)).toThrow(
        invalid("options.recursive"),
      );
    });

    test("makeDir with parents: makes the missing ones with the mode, accepts only our own directory with that mode", async ({
      host,
      dir,
    }) => {
      const deep = join(dir, "base", "vms", "vm1");
      await host.makeDir(deep, { parents: true, mode: 0o750 });
      for (const path of [join(dir, "base"), join(dir, "base", "vms"), deep])
        expect(modeOf(path)).toBe(0o750);
      expect(modeOf(dir)).toBe(0o700);
      // Again: it is ours, with that mode.
      await host.makeDir(deep, { parents: true, mode: 0o750 });
      await host.makeDir(`${deep}/`, { parents: true, mode: 0o750 });
      await expect(host.makeDir(deep, { parents: true })).rejects.toEqual(refused("EEXIST", deep));
      await writeFile(join(dir, "file"), "x");
      await expect(host.makeDir(join(dir, "file"), { parents: true })).rejects.toEqual(
        refused("EEXIST"),
      );
      await expect(host.makeDir(join(dir, "file", "sub", "vm"), { parents: true })).rejects.toEqual(
        refused("ENOTDIR"),
      );
      if (process.getuid?.() === 0) {
        const foreign = join(dir, "foreign");
        await mkdir(foreign, { mode: 0o700 });
        await chmod(foreign, 0o700);
        chownSync(foreign, 65534, 65534);
        await expect(host.makeDir(foreign, { parents: true })).rejects.toEqual(
          refused("EEXIST", foreign),
        );
      }
    });

    test("makeDir never follows a symlink at the path: ELOOP, the target untouched", async ({
      host,
      dir,
    }) => {
      const target = join(dir, "target");
      await mkdir(target);
      await chmod(target, 0o755);
      const link = join(dir, "link");
      await symlink(target, link);
      await expect(host.makeDir(link)).rejects.toEqual(refused("ELOOP", link));
      await expect(host.makeDir(link, { parents: true, mode: 0o755 })).rejects.toEqual(
        refused("ELOOP", link),
      );
      await expect(host.makeDir(`${link}/`, { parents: true, mode: 0o755 })).rejects.toEqual(
        refused("ELOOP", link),
      );
      expect(modeOf(target)).toBe(0o755);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
    });

    test("readDir lists names and types, without . and .., sorted; more than maxEntries is refused", async ({
      host,
      dir,
      track,
    }) => {
      const root = join(dir, "listed");
      await mkdir(join(root, "a"), { recursive: true });
      await writeFile(join(root, "b"), "x");
      await symlink(join(root, "a"), join(root, "c"));
      track.server(await echoServer((server) => server.listen(join(root, "d.sock"))));
      execFileSync("mkfifo", [join(root, "e")]);
      expect(await host.readDir(root)).toEqual([
        { name: "a", type: "directory" },
        { name: "b", type: "file" },
        { name: "c", type: "symlink" },
        { name: "d.sock", type: "socket" },
        { name: "e", type: "other" },
      ]);
      expect(await host.readDir(join(root, "a"))).toEqual([]);
      // More than one batch of an SFTP server (OpenSSH sends 100 names at a time).
      const many = join(dir, "many");
      await mkdir(many);
      const names = Array.from({ length: 250 }, (_, index) => `f${String(index).padStart(3, "0")}`);
      await Promise.all(names.map((name) => writeFile(join(many, name), "")));
      expect((await host.readDir(many)).map((entry) => entry.name)).toEqual(names);
      expect(await host.readDir(many, { maxEntries: 250 })).toHaveLength(250);
      await expect(host.readDir(many, { maxEntries: 120 })).rejects.toMatchObject({
        code: "ERR_HOST_TOO_MANY_ENTRIES",
        maxEntries: 120,
        path: many,
        host: host.name,
      });
      await expect(host.readDir(join(dir, "none"))).rejects.toEqual(refused("ENOENT"));
      await expect(host.readDir(join(root, "b"))).rejects.toEqual(refused("ENOTDIR"));
      expect(() => host.readDir(many, { maxEntries: -1 })).toThrow(invalid("maxEntries"));
    });

    test("stat describes a path without following a symlink; a missing path is undefined", async ({
      host,
      dir,
    }) => {
      const file = join(dir, "file");
      await writeFile(file, "hello");
      await chmod(file, 0o640);
      const local = statSync(file);
      const seen = await host.stat(file);
      expect(seen).toEqual({
        type: "file",
        mode: 0o640,
        uid: local.uid,
        gid: local.gid,
        size: 5,
        mtimeMs: expect.any(Number),
      });
      // Over SFTP, whole seconds.
      expect(Math.abs(seen!.mtimeMs - local.mtimeMs)).toBeLessThan(1000);
      expect(await host.stat(dir)).toMatchObject({ type: "directory", mode: 0o700 });
      expect(await host.stat(`${dir}/`)).toMatchObject({ type: "directory" });
      await symlink(file, join(dir, "link"));
      expect(await host.stat(join(dir, "link"))).toMatchObject({
        type: "symlink",
        size: file.length,
      });
      await symlink(join(dir, "nothing"), join(dir, "dangling"));
      expect(await host.stat(join(dir, "dangling"))).toMatchObject({ type: "symlink" });
      expect(await host.stat(join(dir, "nothing"))).toBeUndefined();
      expect(await host.stat(join(file, "under-a-file"))).toBeUndefined();
    });

    test("rename replaces the target atomically; a missing source is ENOENT", async ({
      host,
      dir,
    }) => {
      const from = join(dir, "new");
      const to = join(dir, "current");
      await writeFile(from, "new");
      await writeFile(to, "old");
      await host.rename(from, to);
      expect(await readFile(to, "utf8")).toBe("new");
      expect(existsSync(from)).toBe(false);
      await mkdir(join(dir, "d1"));
      await host.rename(join(dir, "d1"), join(dir, "d2"));
      expect(statSync(join(dir, "d2")).isDirectory()).toBe(true);
      await expect(host.rename(from, to)).rejects.toEqual(refused("ENOENT", from));
      expect(() => host.rename(from, "")).toThrow(invalid("to"));
    });
  });

  describe("putFile", () => {
    test("copies a local file to the host with its mode, replacing the target; reports bytes and time", async ({
      host,
      dir,
    }) => {
      const source = join(dir, "source-kernel");
      const data = randomBytes(20 * 1024 * 1024 + 7);
      await writeFile(source, data);
      const target = join(dir, "cache", "vmlinux");
      await mkdir(join(dir, "cache"));
      const result = await host.putFile(source, target, { mode: 0o644 });
      expect(result).toEqual({ bytes: data.length, durationMs: expect.any(Number) });
      expect(result.durationMs).toBeGreaterThan(0);
      expect(sha256(await readFile(target))).toBe(sha256(data));
      expect(modeOf(target)).toBe(0o644);
      // Replaced whole; the mode applies exactly, whatever the umask.
      await writeFile(source, "second");
      expect(await host.putFile(source, target, { mode: 0o664 })).toMatchObject({ bytes: 6 });
      expect(await readFile(target, "utf8")).toBe("second");
      expect(modeOf(target)).toBe(0o664);
      await writeFile(source, "");
      expect(await host.putFile(source, join(dir, "cache", "empty"))).toMatchObject({ bytes: 0 });
      expect(readdirSync(join(dir, "cache")).sort()).toEqual(["empty", "vmlinux"]);
    });

    test("failures are ERR_HOST_SYSTEM with the errno name, and leave no temporary file", async ({
      host,
      dir,
    }) => {
      const source = join(dir, "source");
      await writeFile(source, "data");
      const missing = join(dir, "missing");
      await expect(host.putFile(missing, join(dir, "x"))).rejects.toEqual(
        expect.objectContaining({
          code: "ERR_HOST_SYSTEM",
          systemCode: "ENOENT",
          path: missing,
          host: "local",
        }),
      );
      await expect(host.putFile(dir, join(dir, "x"))).rejects.toEqual(refused("EISDIR", dir));
      await expect(host.putFile(source, join(dir, "no", "x"))).rejects.toEqual(refused("ENOENT"));
      await mkdir(join(dir, "taken"));
      await expect(host.putFile(source, join(dir, "taken"))).rejects.toEqual(
        refused("EISDIR", join(dir, "taken")),
      );
      expect(readdirSync(dir).filter((name) => name.endsWith(".part"))).toEqual([]);
      expect(() => host.putFile(source, `${dir}/`)).toThrow(invalid("remotePath"));
      expect(() => host.putFile("", join(dir, "x"))).toThrow(invalid("localPath"));
    });

    test("an aborted copy rejects with ERR_ABORTED once its temporary file is gone", async ({
      host,
      dir,
    }) => {
      const source = join(dir, "disk.img");
      await writeFile(source, randomBytes(64 * 1024 * 1024));
      const remote = join(dir, "remote");
      await mkdir(remote);
      const target = join(remote, "disk.img");
      const controller = new AbortController();
      // Abort as soon as the temporary file appears: the copy is under way.
      const watcher = watch(remote, (_event, name) => {
        if (String(name).endsWith(".part")) controller.abort(new Error("stop the copy"));
      });
      try {
        await expect(
          host.putFile(source, target, { signal: controller.signal }),
        ).rejects.toMatchObject({ code: "ERR_ABORTED" });
      } finally {
        watcher.close();
      }
      expect(controller.signal.aborted).toBe(true);
      expect(readdirSync(remote)).toEqual([]);
      await expect(host.putFile(source, target, { timeoutMs: 0 })).rejects.toMatchObject({
        code: "ERR_TIMEOUT",
      });
      expect(readdirSync(remote)).toEqual([]);
    });
  });

  test("each operation is traced on the qemu-kvm:host channel", async ({ host, dir }) => {
    const messages: OperationMessage[] = [];
    const listener = (message: unknown) => messages.push(message as OperationMessage);
    subscribe("qemu-kvm:host", listener);
    try {
      await writeFile(join(dir, "s"), "x");
      await host.makeDir(join(dir, "d"));
      await host.readDir(dir);
      await host.stat(join(dir, "d"));
      await host.putFile(join(dir, "s"), join(dir, "f"));
      await host.rename(join(dir, "f"), join(dir, "g"));
      await host.waitForExit(4_194_304 + 1).catch(() => {});
      await host.architecture();
    } finally {
      unsubscribe("qemu-kvm:host", listener);
    }
    const ended = messages
      .filter((message) => message.phase !== "start" && message.operation !== "connect")
      .map((message) => message.operation);
    expect(ended).toEqual([
      "makeDir",
      "readDir",
      "stat",
      "putFile",
      "rename",
      "waitForExit",
      "architecture",
    ]);
    expect(messages.find((message) => message.operation === "makeDir")?.target).toBe(
      `${host.name} ${join(dir, "d")}`,
    );
  });
}
