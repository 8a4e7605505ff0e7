/**
 * ensureQemu("10.0"): fetched for real from bookworm-backports (13 MB) with a
 * private apt configuration, once for concurrent callers, reused without network,
 * nothing partial left by an abort; and the QEMU it gives boots the test guest.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { test } from "@qemu-kvm/testkit/fixtures";
import { expect, onTestFinished } from "vitest";
import {
  ensureGuest,
  ensureQemu,
  launchGuest,
  type QemuProgress,
  qemuEntryPaths,
} from "../../src/index.js";
import { runQmpCommands } from "../../src/qmp-commands.js";
import { SerialSession } from "../helpers/serial-session.js";

const run = promisify(execFile);

test("three concurrent callers fetch 10.0 once and get the same QEMU; the next call reads the cache only", async ({
  tempDir,
}) => {
  const directory = tempDir.path;
  const events: QemuProgress[][] = [[], [], []];
  const fetched = await Promise.all(
    events.map((log) =>
      ensureQemu("10.0", { cacheDirectory: directory, onProgress: (event) => log.push(event) }),
    ),
  );
  expect(events.flat().filter((event) => event.step === "download")).toHaveLength(1);
  const waited = events.filter((log) => log.some((event) => event.step === "waiting"));
  expect(waited).toHaveLength(2);
  // A waiter may wait twice (the other waiter took the lock first); it never fetches.
  for (const log of waited)
    expect(log.map((event) => event.step).join(" ")).toMatch(/^(waiting )+cached$/);
  const paths = qemuEntryPaths("10.0", directory);
  for (const qemu of fetched)
    expect(qemu).toEqual({
      release: "10.0",
      version: expect.stringMatching(/^10\.0\.\d+$/),
      debianVersion: expect.stringMatching(/^1:10\.0\.\d+/),
      binary: paths.binary,
      binDirectory: paths.binDirectory,
      realBinary: paths.realBinary,
      firmwareDir: paths.firmwareDir,
      directory: paths.directory,
    });
  // Only the entry: no temporary folder, and apt's lists and the .debs are gone.
  expect(await readdir(directory)).toEqual([paths.directory.split("/").at(-1)]);
  expect((await readdir(paths.directory)).sort()).toEqual(["bin", "qemu.json", "root"]);
  const manifest = JSON.parse(await readFile(paths.manifest, "utf8"));
  expect(manifest.packages.map((p: { name: string }) => p.name)).toEqual([
    "qemu-system-x86",
    "qemu-system-common",
    "qemu-system-data",
    "seabios",
  ]);
  const { stdout } = await run(paths.binary, ["--version"]);
  expect(stdout).toMatch(new RegExp(`^QEMU emulator version ${fetched[0]!.version} \\(Debian`));

  const again: QemuProgress[] = [];
  const started = performance.now();
  await ensureQemu("10.0", { cacheDirectory: directory, onProgress: (event) => again.push(event) });
  expect(performance.now() - started).toBeLessThan(500);
  expect(again.map((event) => event.step)).toEqual(["cached"]);
}, 600_000);

test("an aborted fetch rejects with ERR_ABORTED and leaves nothing that looks complete", async ({
  tempDir,
}) => {
  const controller = new AbortController();
  const fetching = ensureQemu("10.0", {
    cacheDirectory: tempDir.path,
    signal: controller.signal,
    onProgress: (event) => {
      if (event.step === "download") controller.abort(new Error("stop"));
    },
  });
  await expect(fetching).rejects.toMatchObject({ code: "ERR_ABORTED" });
  expect(await readdir(tempDir.path)).toEqual([]);
}, 600_000);

test("an unknown release is refused before anything is fetched", () => {
  expect(() => ensureQemu("9.9")).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
});

test("QEMU 10.0 boots the test guest to its login prompt, with its own SeaBIOS, in the wrapper's pid", async () => {
  const [guest, qemu] = await Promise.all([ensureGuest(), ensureQemu("10.0")]);
  const vm = await launchGuest(guest, { qemuBinary: qemu.binary });
  onTestFinished(() => vm.stop().then(() => {}));
  // exec: the pid spawned is QEMU's, and its argv[0] reads as a QEMU found on PATH.
  const cmdline = (await readFile(`/proc/${vm.pid}/cmdline`, "utf8")).split("\0");
  expect(cmdline.slice(0, 5)).toEqual([
    "qemu-system-x86_64",
    "-L",
    qemu.firmwareDir,
    "-L",
    expect.stringMatching(/\/usr\/share\/seabios$/),
  ]);
  const [version] = await runQmpCommands(vm.qmpPath, ["query-version"]);
  expect(version).toMatchObject({ qemu: { major: 10, minor: 0 } });
  const session = new SerialSession(vm);
  await session.login(guest.credentials);
  // The BIOS is the backports package's (1.16.3), not the system's 7.2 one.
  const bios = await session.run("cat /sys/class/dmi/id/bios_version");
  expect(bios).toEqual({ exitCode: 0, output: expect.stringMatching(/^1\.16\.3-debian-/) });
  expect(await vm.stop()).toBe("quit");
}, 300_000);
