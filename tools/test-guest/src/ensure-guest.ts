/**
 * `ensureGuest()`: the cached guest of the current recipe, built first if needed.
 * Cache entry `<cacheDir>/<recipe-hash>/`; a build goes to a temporary sibling and
 * is renamed into place (atomic), under a machine-wide lock, so any number of
 * processes asking at once build it once and all get the same files.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildProgress, buildGuest } from "./build-guest.js";
import { acquireBuildLock } from "./build-lock.js";
import { GuestAbortError, GuestBuildError, GuestTimeoutError } from "./errors.js";
import { GUEST_PACKAGES, KERNEL_METAPACKAGE } from "./recipe.js";
import { readRecipeSources, recipeHash } from "./recipe-hash.js";
import { loadGuest, type TestGuest } from "./test-guest.js";

const sourceDirectory = dirname(fileURLToPath(import.meta.url));

/** `tools/test-guest/.cache`, or `$QEMU_KVM_TEST_GUEST_CACHE`. */
export function defaultCacheDirectory(): string {
  return process.env.QEMU_KVM_TEST_GUEST_CACHE ?? join(sourceDirectory, "..", ".cache");
}

export type GuestProgress =
  | BuildProgress
  | { step: "cached"; message: string; elapsedMs: number }
  | { step: "waiting"; message: string; elapsedMs: number };

export interface EnsureGuestOptions {
  signal?: AbortSignal;
  /** Deadline of the whole call, lock wait included. Default 30 minutes. */
  timeoutMs?: number;
  onProgress?: (progress: GuestProgress) => void;
  /** Default `defaultCacheDirectory()`. */
  cacheDirectory?: string;
}

/** The hash of the current recipe (builder sources + package list). */
export async function currentRecipeHash(): Promise<string> {
  return recipeHash({
    sources: await readRecipeSources(sourceDirectory),
    packages: [KERNEL_METAPACKAGE, ...GUEST_PACKAGES],
  });
}

/**
 * The test guest of the current recipe: from the cache at once, or built (a minute
 * or so: a 70 MB kernel package is fetched). Rejects with `ERR_GUEST_BUILD`,
 * `ERR_GUEST_COMMAND`, `ERR_TIMEOUT` or `ERR_ABORTED`; a failed or aborted build
 * leaves no partial entry behind.
 */
export async function ensureGuest(options: EnsureGuestOptions = {}): Promise<TestGuest> {
  const started = performance.now();
  const elapsedMs = () => performance.now() - started;
  const cacheDirectory = resolve(options.cacheDirectory ?? defaultCacheDirectory());
  const hash = await currentRecipeHash();
  const entry = join(cacheDirectory, hash);
  const cached = await loadGuest(entry);
  if (cached) {
    options.onProgress?.({
      step: "cached",
      message: `cached guest ${entry}`,
      elapsedMs: elapsedMs(),
    });
    return cached;
  }

  const timeoutMs = options.timeoutMs ?? 1_800_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const translate = (error: unknown): unknown => {
    if (!signal.aborted || error instanceof GuestTimeoutError) return error;
    if (deadline.aborted)
      return new GuestTimeoutError(`building the test guest took over ${timeoutMs} ms`, timeoutMs);
    if (error instanceof GuestAbortError) return error;
    return new GuestAbortError("building the test guest: aborted", {
      cause: options.signal?.reason,
    });
  };

  await mkdir(cacheDirectory, { recursive: true });
  const lockName = `qemu-kvm-test-guest-${createHash("sha256").update(entry).digest("hex").slice(0, 32)}`;
  let lock: Awaited<ReturnType<typeof acquireBuildLock>>;
  try {
    lock = await acquireBuildLock(lockName, {
      signal,
      timeoutMs,
      onWait: (pid) =>
        options.onProgress?.({
          step: "waiting",
          message: `another process${pid ? ` (pid ${pid})` : ""} is building the guest; waiting`,
          elapsedMs: elapsedMs(),
        }),
    });
  } catch (error) {
    throw translate(error);
  }
  const temporary = join(
    cacheDirectory,
    `.tmp-${hash}-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
  try {
    // Whoever held the lock may have built it meanwhile.
    const built = await loadGuest(entry);
    if (built) {
      options.onProgress?.({
        step: "cached",
        message: `built by another process: ${entry}`,
        elapsedMs: elapsedMs(),
      });
      return built;
    }
    // Only the lock holder builds: leftovers of this hash are from dead builders,
    // and an incomplete entry (files deleted by hand) is replaced.
    for (const name of await readdir(cacheDirectory))
      if (name.startsWith(`.tmp-${hash}-`))
        await rm(join(cacheDirectory, name), { recursive: true, force: true });
    await rm(entry, { recursive: true, force: true });
    await mkdir(temporary);
    await buildGuest(temporary, hash, {
      signal,
      onProgress: (progress) => options.onProgress?.({ ...progress, elapsedMs: elapsedMs() }),
    });
    await rename(temporary, entry);
    const guest = await loadGuest(entry);
    if (!guest) throw new GuestBuildError(`the guest just built in ${entry} does not load`);
    return guest;
  } catch (error) {
    throw translate(error);
  } finally {
    await rm(temporary, { recursive: true, force: true });
    await lock.release();
  }
}
