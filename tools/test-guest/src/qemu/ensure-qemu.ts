/**
 * `ensureQemu("10.0")`: a second QEMU beside the system's, fetched once from
 * Debian (bookworm-backports) with a private apt configuration and unpacked into
 * the cache. Same cache discipline as `ensureGuest`: a complete entry is used at
 * once (no network); otherwise, under a machine-wide lock, it is made in a
 * temporary sibling and renamed into place, so concurrent callers fetch once and
 * a partial fetch never looks complete.
 */
import { createHash, randomBytes } from "node:crypto";
import { access, chmod, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { acquireBuildLock } from "../build-lock.js";
import { type DebianPackage, unpackPackage } from "../debian-packages.js";
import { defaultCacheDirectory } from "../ensure-guest.js";
import { GuestAbortError, GuestBuildError, GuestTimeoutError } from "../errors.js";
import { runCommand } from "../run-command.js";
import { createPrivateApt, downloadFromSuite, updatePrivateLists } from "./private-apt.js";
import {
  isReleaseVersion,
  missingLibraries,
  parseQemuVersion,
  type QemuEntryPaths,
  type QemuRelease,
  qemuEntryPaths,
  qemuRelease,
  upstreamVersion,
} from "./qemu-release.js";
import { parseDataDirs, wrapperScript } from "./qemu-wrapper.js";

export interface FetchedQemu {
  /** The release asked for, e.g. `10.0`. */
  readonly release: string;
  /** What the binary reports, e.g. `10.0.2`. */
  readonly version: string;
  /** The Debian package version, e.g. `1:10.0.2+ds-2+deb13u1~bpo12+1`. */
  readonly debianVersion: string;
  /** The wrapper to run (`bin/qemu-system-x86_64`): firmware and modules set. */
  readonly binary: string;
  /** The wrapper's folder: put it first on `PATH` to make this QEMU the default. */
  readonly binDirectory: string;
  /** The unpacked binary itself (needs `-L firmwareDir`, which the wrapper adds). */
  readonly realBinary: string;
  /** `usr/share/qemu` of the unpacked tree. */
  readonly firmwareDir: string;
  /** The cache entry. */
  readonly directory: string;
}

interface QemuManifest {
  release: string;
  version: string;
  debianVersion: string;
  suite: string;
  packages: Array<{ name: string; version: string }>;
  fetchedAt: string;
}

export type QemuProgress = {
  step: "cached" | "waiting" | "update" | "download" | "unpack" | "verify";
  message: string;
  elapsedMs: number;
};

export interface EnsureQemuOptions {
  signal?: AbortSignal;
  /** Deadline of the whole call, lock wait included. Default 15 minutes. */
  timeoutMs?: number;
  /** Default `defaultCacheDirectory()` (`tools/test-guest/.cache`). */
  cacheDirectory?: string;
  onProgress?: (progress: QemuProgress) => void;
}

async function loadQemu(paths: QemuEntryPaths): Promise<FetchedQemu | undefined> {
  let manifest: QemuManifest;
  try {
    manifest = JSON.parse(await readFile(paths.manifest, "utf8")) as QemuManifest;
    // Written last, the manifest says the entry is complete; files deleted by hand since are caught here.
    await Promise.all([access(paths.binary), access(paths.realBinary)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return {
    release: manifest.release,
    version: manifest.version,
    debianVersion: manifest.debianVersion,
    binary: paths.binary,
    binDirectory: paths.binDirectory,
    realBinary: paths.realBinary,
    firmwareDir: paths.firmwareDir,
    directory: paths.directory,
  };
}

/**
 * QEMU `release` (see `QEMU_RELEASES`), fetched first if not cached (13 MB, a few
 * seconds). Throws `ERR_INVALID_OPTION` synchronously for an unknown release;
 * rejects with `ERR_GUEST_BUILD` (the suite no longer has that release, a missing
 * library, apt failed: the message says which), `ERR_TIMEOUT` or `ERR_ABORTED`.
 */
export function ensureQemu(release: string, options: EnsureQemuOptions = {}): Promise<FetchedQemu> {
  const cacheDirectory = options.cacheDirectory ?? defaultCacheDirectory();
  const paths = qemuEntryPaths(release, cacheDirectory);
  return ensureEntry(qemuRelease(release), paths, options);
}

async function ensureEntry(
  release: QemuRelease,
  paths: QemuEntryPaths,
  options: EnsureQemuOptions,
): Promise<FetchedQemu> {
  const started = performance.now();
  const progress = (step: QemuProgress["step"], message: string) =>
    options.onProgress?.({ step, message, elapsedMs: performance.now() - started });
  const cached = await loadQemu(paths);
  if (cached) {
    progress("cached", `cached QEMU ${cached.version}: ${cached.binary}`);
    return cached;
  }
  const timeoutMs = options.timeoutMs ?? 900_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const translate = (error: unknown): unknown => {
    if (!signal.aborted || error instanceof GuestTimeoutError) return error;
    if (deadline.aborted)
      return new GuestTimeoutError(`fetching QEMU took over ${timeoutMs} ms`, timeoutMs);
    if (error instanceof GuestAbortError) return error;
    return new GuestAbortError("fetching QEMU: aborted", { cause: options.signal?.reason });
  };

  const cacheDirectory = dirname(paths.directory);
  await mkdir(cacheDirectory, { recursive: true });
  const lockName = `qemu-kvm-test-qemu-${createHash("sha256").update(paths.directory).digest("hex").slice(0, 32)}`;
  let lock: Awaited<ReturnType<typeof acquireBuildLock>>;
  try {
    lock = await acquireBuildLock(lockName, {
      signal,
      timeoutMs,
      onWait: (pid) =>
        progress(
          "waiting",
          `another process${pid ? ` (pid ${pid})` : ""} is fetching QEMU; waiting`,
        ),
    });
  } catch (error) {
    throw translate(error);
  }
  const entryName = relative(cacheDirectory, paths.directory);
  const temporary = join(
    cacheDirectory,
    `.tmp-${entryName}-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
  try {
    const fetched = await loadQemu(paths); // the previous holder may have made it
    if (fetched) {
      progress("cached", `fetched by another process: ${fetched.binary}`);
      return fetched;
    }
    for (const name of await readdir(cacheDirectory))
      if (name.startsWith(`.tmp-${entryName}-`))
        await rm(join(cacheDirectory, name), { recursive: true, force: true });
    await rm(paths.directory, { recursive: true, force: true });
    await mkdir(temporary);
    const manifest = await fetchInto(temporary, release, paths, { signal, progress });
    // The wrapper names its final paths: check it there, then write the manifest
    // (renamed into place) that makes the entry complete.
    await rename(temporary, paths.directory);
    try {
      await verifyWrapper(paths, signal);
      await writeFile(`${paths.manifest}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
      await rename(`${paths.manifest}.tmp`, paths.manifest);
    } catch (error) {
      await rm(paths.directory, { recursive: true, force: true });
      throw error;
    }
    const loaded = await loadQemu(paths);
    if (!loaded)
      throw new GuestBuildError(`the QEMU just fetched into ${paths.directory} does not load`);
    return loaded;
  } catch (error) {
    throw translate(error);
  } finally {
    await rm(temporary, { recursive: true, force: true });
    await lock.release();
  }
}

interface FetchContext {
  signal: AbortSignal;
  progress: (step: QemuProgress["step"], message: string) => void;
}

/**
 * Fills `temporary` with the unpacked tree and a wrapper pointing at `paths` (the
 * final place); returns the manifest, which is written only once that is checked.
 */
async function fetchInto(
  temporary: string,
  release: QemuRelease,
  paths: QemuEntryPaths,
  { signal, progress }: FetchContext,
): Promise<QemuManifest> {
  const apt = await createPrivateApt(join(temporary, "apt"), release);
  progress("update", `apt-get update: ${release.suite} only (private lists)`);
  await updatePrivateLists(apt, release, { signal });
  const debs = join(temporary, "debs");
  await mkdir(debs);
  progress("download", `apt-get download ${release.packages.join(" ")} from ${release.suite}`);
  const packages = await downloadFromSuite(apt, release, debs, { signal });
  const debianVersion = checkPackageVersions(release, packages);
  const root = join(temporary, "root");
  await mkdir(root);
  progress("unpack", `dpkg -x ${packages.length} packages`);
  for (const deb of packages) await unpackPackage(deb, root, { signal });
  const inTemporary = (path: string) => join(temporary, relative(paths.directory, path));
  progress("verify", "ldd and --version of the unpacked binary");
  const version = await verifyBinary(inTemporary(paths.realBinary), release, signal);
  const moduleDir = await findModuleDir(root);
  await mkdir(inTemporary(paths.binDirectory));
  await writeFile(
    inTemporary(paths.binary),
    wrapperScript({
      realBinary: paths.realBinary,
      dataDirs: [paths.firmwareDir, paths.biosDir],
      moduleDir: moduleDir && join(paths.root, moduleDir),
      description: `${version} (Debian ${debianVersion}) from ${release.suite}`,
    }),
  );
  await chmod(inTemporary(paths.binary), 0o755);
  await rm(join(temporary, "apt"), { recursive: true, force: true });
  await rm(debs, { recursive: true, force: true });
  return {
    release: release.release,
    version,
    debianVersion,
    suite: release.suite,
    packages: packages.map(({ name, version: v }) => ({ name, version: v })),
    fetchedAt: new Date().toISOString(),
  };
}

/** The main package is `release`.x and its siblings carry the same version. */
export function checkPackageVersions(
  release: QemuRelease,
  packages: readonly Pick<DebianPackage, "name" | "version">[],
): string {
  const main = packages.find((p) => p.name === release.mainPackage);
  if (!main) throw new GuestBuildError(`${release.mainPackage} was not downloaded`);
  const upstream = upstreamVersion(main.version);
  if (!isReleaseVersion(upstream, release.release))
    throw new GuestBuildError(
      `${release.suite} now has ${release.mainPackage} ${main.version} (QEMU ${upstream}), ` +
        `not QEMU ${release.release}.x: update QEMU_RELEASES in tools/test-guest/src/qemu/qemu-release.ts`,
    );
  for (const p of packages)
    if (p.name.startsWith("qemu-") && p.version !== main.version)
      throw new GuestBuildError(
        `${p.name} ${p.version} does not match ${release.mainPackage} ${main.version}`,
      );
  return main.version;
}

/** No library missing, and `--version` says `release`.x; returns that version. */
async function verifyBinary(binary: string, release: QemuRelease, signal: AbortSignal) {
  const ldd = await runCommand("ldd", [binary], { signal, timeoutMs: 60_000 });
  const missing = missingLibraries(ldd.stdout);
  if (missing.length > 0)
    throw new GuestBuildError(
      `QEMU ${release.release} from ${release.suite} needs libraries this machine lacks: ${missing.join(", ")}`,
    );
  const { stdout } = await runCommand(binary, ["--version"], { signal, timeoutMs: 60_000 });
  const version = parseQemuVersion(stdout);
  if (!version || !isReleaseVersion(version, release.release))
    throw new GuestBuildError(
      `${binary} --version does not report QEMU ${release.release}.x: ${stdout.trim()}`,
    );
  return version;
}

/** `usr/lib/<multiarch>/qemu` (relative to the tree), where its modules are. */
async function findModuleDir(root: string): Promise<string | undefined> {
  const lib = join(root, "usr", "lib");
  for (const name of await readdir(lib).catch(() => [] as string[])) {
    const candidate = join("usr", "lib", name, "qemu");
    const files = await readdir(join(root, candidate)).catch(() => [] as string[]);
    if (files.some((file) => file.endsWith(".so"))) return candidate;
  }
  return undefined;
}

/** The wrapper, in its final place, makes QEMU search the entry's firmware first. */
async function verifyWrapper(paths: QemuEntryPaths, signal: AbortSignal): Promise<void> {
  const { stdout } = await runCommand(paths.binary, ["-L", "help"], { signal, timeoutMs: 60_000 });
  const dirs = parseDataDirs(stdout);
  if (dirs[0] !== paths.firmwareDir || dirs[1] !== paths.biosDir)
    throw new GuestBuildError(
      `${paths.binary} does not search its own firmware first: -L help lists ${dirs.join(", ")}`,
    );
}
