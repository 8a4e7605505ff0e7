/**
 * ensureGuest's cache: concurrent callers build once and share the result, a
 * second call is instant, an aborted build leaves nothing behind. Builds for real
 * (apt-get download of ~78 MB, about 10 s) into private cache directories.
 */
import { access, readdir, stat } from "node:fs/promises";
import { test } from "@qemu-kvm/testkit/fixtures";
import { expect } from "vitest";
import { currentRecipeHash, ensureGuest, type GuestProgress } from "../../src/index.js";

// Each test builds into its own private cache directory: testkit's tempDir.

test("three concurrent callers build once and get the same guest; the next call is instant", async ({
  tempDir,
}) => {
  const directory = tempDir.path;
  const events: GuestProgress[][] = [[], [], []];
  const guests = await Promise.all(
    events.map((log) =>
      ensureGuest({
        cacheDirectory: directory,
        onProgress: (event) => log.push(event),
        timeoutMs: 900_000,
      }),
    ),
  );
  const downloads = events.flat().filter((event) => event.step === "download");
  expect(downloads).toHaveLength(1);
  const waited = events.filter((log) => log.some((event) => event.step === "waiting"));
  expect(waited).toHaveLength(2);
  for (const log of waited) expect(log.at(-1)?.step).toBe("cached");
  const hash = await currentRecipeHash();
  for (const guest of guests) {
    expect(guest.directory).toBe(`${directory}/${hash}`);
    expect(guest.recipeHash).toBe(hash);
  }
  expect(await readdir(directory)).toEqual([hash]); // no temporary directory left
  const guest = guests[0]!;
  expect((await stat(guest.sshPrivateKeyPath)).mode & 0o777).toBe(0o600);
  expect(guest.manifest.packages.map((p) => p.name)).toEqual(
    expect.arrayContaining(["busybox-static", "qemu-guest-agent", "dropbear-bin", "libtomcrypt1"]),
  );
  expect(guest.manifest.packages[0]!.name).toMatch(/^linux-image-\d+\.\d+\.\d+-\d+-amd64$/);
  expect(guest.manifest.sizes.kernelBytes).toBeGreaterThan(
    guest.manifest.sizes.compressedKernelBytes,
  );

  const started = performance.now();
  const again = await ensureGuest({ cacheDirectory: directory });
  expect(performance.now() - started).toBeLessThan(1_000);
  expect(again.directory).toBe(guest.directory);
}, 900_000);

test("an aborted build rejects with ERR_ABORTED and leaves no entry behind", async ({
  tempDir,
}) => {
  const directory = tempDir.path;
  const controller = new AbortController();
  const building = ensureGuest({
    cacheDirectory: directory,
    signal: controller.signal,
    // Abort in the middle: once the packages are being unpacked.
    onProgress: (event) => {
      if (event.step === "unpack") controller.abort(new Error("test abort"));
    },
  });
  await expect(building).rejects.toMatchObject({ code: "ERR_ABORTED" });
  expect(await readdir(directory)).toEqual([]);
  // And a deadline is ERR_TIMEOUT.
  await expect(ensureGuest({ cacheDirectory: directory, timeoutMs: 50 })).rejects.toMatchObject({
    code: "ERR_TIMEOUT",
  });
  expect(await readdir(directory)).toEqual([]);
  await expect(access(`${directory}/${await currentRecipeHash()}`)).rejects.toThrow();
}, 300_000);
