/** The conformance suite's files (by content) and sockets. */
import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect } from "vitest";
import {
  type ConformanceTest,
  echoServer,
  roundTrip,
  sha256,
} from "../helpers/conformance-test.js";

export function fileSuites(test: ConformanceTest): void {
  describe("files", () => {
    test("writeFile and readFile round-trip every byte value and 10 MB", async ({ host, dir }) => {
      const path = join(dir, "bytes");
      const all = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
      await host.writeFile(path, all);
      expect((await host.readFile(path)).equals(all)).toBe(true);
      const big = randomBytes(10 * 1024 * 1024 + 123);
      await host.writeFile(path, big);
      expect(sha256(await readFile(path))).toBe(sha256(big));
      expect(sha256(await host.readFile(path))).toBe(sha256(big));
      await host.writeFile(path, "short é");
      expect(await host.readFile(path, { encoding: "utf8" })).toBe("short é");
    });

    test("mode is applied exactly, also to an existing file, whatever the umask", async ({
      host,
      dir,
    }) => {
      const path = join(dir, "secret");
      await host.writeFile(path, "key", { mode: 0o600 });
      expect(statSync(path).mode & 0o7777).toBe(0o600);
      await host.writeFile(path, "other", { mode: 0o640 });
      expect(statSync(path).mode & 0o7777).toBe(0o640);
      await host.writeFile(path, "kept");
      expect(statSync(path).mode & 0o7777).toBe(0o640);
      await host.writeFile(join(dir, "wide"), "", { mode: 0o777 });
      expect(statSync(join(dir, "wide")).mode & 0o7777).toBe(0o777);
    });

    test("files in /proc (size 0) are read whole", async ({ host, track }) => {
      const sleeper = track.process(host.spawn("sleep", ["1000"]));
      const pid = await sleeper.pid;
      expect(await host.readFile(`/proc/${pid}/cmdline`, { encoding: "utf8" })).toBe(
        "sleep\u00001000\u0000",
      );
      const status = await host.readFile(`/proc/${pid}/status`, { encoding: "utf8" });
      expect(status).toMatch(/^Name:\tsleep\n/);
      expect(status).toContain(`\nPid:\t${pid}\n`);
    });

    test("a file larger than maxBytes (default 64 MiB) is refused before it is read: a sparse 10 GiB file, /dev/zero", async ({
      host,
      dir,
    }) => {
      const huge = join(dir, "sparse");
      await writeFile(huge, "");
      await truncate(huge, 10 * 2 ** 30);
      const tooLarge = (path: string, maxBytes: number) =>
        expect.objectContaining({
          code: "ERR_HOST_FILE_TOO_LARGE",
          path,
          maxBytes,
          host: host.name,
        });
      const started = performance.now();
      await expect(host.readFile(huge, { timeoutMs: 10_000 })).rejects.toEqual(
        tooLarge(huge, 64 * 2 ** 20),
      );
      // Just above a small cap: nothing like the claimed size is allocated, or read.
      await truncate(huge, 100 * 2 ** 20);
      await expect(host.readFile(huge, { maxBytes: 2 ** 20, timeoutMs: 10_000 })).rejects.toEqual(
        tooLarge(huge, 2 ** 20),
      );
      // A device that claims no size and never ends is cut at the cap.
      await expect(
        host.readFile("/dev/zero", { maxBytes: 2 ** 20, timeoutMs: 10_000 }),
      ).rejects.toEqual(tooLarge("/dev/zero", 2 ** 20));
      expect(performance.now() - started).toBeLessThan(10_000);
      // Up to the cap is fine, also for a file that claims no size (/proc).
      const exact = join(dir, "exact");
      await writeFile(exact, randomBytes(4096));
      expect((await host.readFile(exact, { maxBytes: 4096 })).length).toBe(4096);
      await expect(host.readFile(exact, { maxBytes: 4095 })).rejects.toEqual(tooLarge(exact, 4095));
      const status = await host.readFile("/proc/self/status", { maxBytes: 64 * 1024 });
      expect(status.toString()).toMatch(/^Name:/);
      expect(() => host.readFile(exact, { maxBytes: -1 })).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "maxBytes" }),
      );
    });

    test("failures are ERR_HOST_SYSTEM with the errno name", async ({ host, dir }) => {
      await expect(host.readFile(join(dir, "missing"))).rejects.toMatchObject({
        code: "ERR_HOST_SYSTEM",
        systemCode: "ENOENT",
        path: join(dir, "missing"),
      });
      await expect(host.readFile(dir)).rejects.toMatchObject({ systemCode: "EISDIR" });
      await expect(host.writeFile(join(dir, "no", "file"), "x")).rejects.toMatchObject({
        systemCode: "ENOENT",
      });
      await expect(host.writeFile(dir, "x")).rejects.toMatchObject({ systemCode: "EISDIR" });
    });

    test("remove: files, symlinks (not their target), empty and (recursive) full directories; missing is fine", async ({
      host,
      dir,
    }) => {
      const file = join(dir, "file");
      await writeFile(file, "x");
      await symlink(file, join(dir, "link"));
      await host.remove(join(dir, "link"));
      expect(existsSync(join(dir, "link"))).toBe(false);
      expect(existsSync(file)).toBe(true);
      await host.remove(file);
      expect(existsSync(file)).toBe(false);
      await host.remove(file);
      await mkdir(join(dir, "empty"));
      await host.remove(join(dir, "empty"));
      expect(existsSync(join(dir, "empty"))).toBe(false);
      await mkdir(join(dir, "full", "deep"), { recursive: true });
      await writeFile(join(dir, "full", "deep", "f"), "x");
      await expect(host.remove(join(dir, "full"))).rejects.toMatchObject({
        code: "ERR_HOST_SYSTEM",
        systemCode: "ENOTEMPTY",
      });
      await host.remove(join(dir, "full"), { recursive: true });
      expect(existsSync(join(dir, "full"))).toBe(false);
      expect(() => host.remove("/")).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "path" }),
      );
    });

    test("makePrivateDir makes a new 0700 directory; exists tells files apart from nothing", async ({
      host,
      dir,
      printer,
    }) => {
      const first = await host.makePrivateDir({ parent: dir, prefix: "p-" });
      const second = await host.makePrivateDir({ parent: dir, prefix: "p-" });
      expect(first).not.toBe(second);
      expect(first.startsWith(join(dir, "p-"))).toBe(true);
      expect(statSync(first).isDirectory()).toBe(true);
      expect(statSync(first).mode & 0o7777).toBe(0o700);
      expect(await host.exists(first)).toBe(true);
      expect(await host.exists(join(first, "nothing"))).toBe(false);
      expect(await host.exists(join(printer, "under-a-file"))).toBe(false);
      const tmp = await host.makePrivateDir();
      try {
        expect(statSync(tmp).mode & 0o7777).toBe(0o700);
      } finally {
        await host.remove(tmp, { recursive: true });
      }
    });
  });

  describe("sockets", () => {
    test("connectUnix reaches a unix socket server on the host (1 MiB echo)", async ({
      host,
      dir,
      track,
    }) => {
      const path = join(dir, "echo.sock");
      track.server(await echoServer((server) => server.listen(path)));
      const stream = await host.connectUnix(path);
      const data = randomBytes(1024 * 1024);
      expect(sha256(await roundTrip(stream, data))).toBe(sha256(data));
    });

    test("connectTcp reaches a TCP server on the host (1 MiB echo)", async ({ host, track }) => {
      const server = await echoServer((created) => created.listen(0, "127.0.0.1"));
      track.server(server);
      const port = (server.address() as { port: number }).port;
      const stream = await host.connectTcp("127.0.0.1", port);
      const data = randomBytes(1024 * 1024);
      expect(sha256(await roundTrip(stream, data))).toBe(sha256(data));
    });

    test("nothing listening rejects with ERR_HOST_SOCKET", async ({ host, dir }) => {
      await expect(host.connectUnix(join(dir, "none.sock"))).rejects.toMatchObject({
        code: "ERR_HOST_SOCKET",
        target: join(dir, "none.sock"),
      });
      const server = await echoServer((created) => created.listen(0, "127.0.0.1"));
      const port = (server.address() as { port: number }).port;
      await new Promise((resolve) => server.close(resolve));
      await expect(host.connectTcp("127.0.0.1", port)).rejects.toMatchObject({
        code: "ERR_HOST_SOCKET",
        systemCode: "ECONNREFUSED",
      });
    });
  });
}
