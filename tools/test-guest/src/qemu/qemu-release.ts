/**
 * The second QEMU of the test matrix: which Debian suite and packages give each
 * release, where its cache entry lives, and the pure checks run on what apt and
 * the binary report. No I/O here (the cache entry's path is computed, not looked at).
 *
 * This folder is not part of the guest's recipe hash (`readRecipeSources` reads
 * `src/*.ts` only): fetching a QEMU never rebuilds the guest.
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { defaultCacheDirectory } from "../ensure-guest.js";
import { InvalidGuestOptionError } from "../errors.js";

export interface QemuRelease {
  /** `10.0`: the version every package must have (`10.0.x`). */
  readonly release: string;
  /** One `deb` line's parts: nothing else is in the private sources list. */
  readonly mirror: string;
  readonly suite: string;
  readonly component: string;
  /** The keyring that signs the suite (the system's, read only). */
  readonly keyring: string;
  /** `apt-get download`ed from `suite`, then `dpkg -x`ed into one tree. */
  readonly packages: readonly string[];
  /** The package whose version is the release's (the others must carry the same). */
  readonly mainPackage: string;
}

/** Releases `ensureQemu` can fetch. 7.2 is the system's own (Debian bookworm). */
export const QEMU_RELEASES: Readonly<Record<string, QemuRelease>> = {
  "10.0": {
    release: "10.0",
    mirror: "http://deb.debian.org/debian",
    suite: "bookworm-backports",
    component: "main",
    keyring: "/usr/share/keyrings/debian-archive-keyring.gpg",
    packages: ["qemu-system-x86", "qemu-system-common", "qemu-system-data", "seabios"],
    mainPackage: "qemu-system-x86",
  },
};

/** Bumped when the entry's layout or the wrapper changes: a new entry is made. */
const ENTRY_FORMAT = 1;

/** The release's table row; an unknown one is `ERR_INVALID_OPTION` (option `release`). */
export function qemuRelease(release: string): QemuRelease {
  const found = Object.hasOwn(QEMU_RELEASES, release) ? QEMU_RELEASES[release] : undefined;
  if (!found)
    throw new InvalidGuestOptionError(
      `no QEMU release ${JSON.stringify(release)} to fetch; known: ${Object.keys(QEMU_RELEASES).join(", ")}`,
      "release",
    );
  return found;
}

/** `qemu-10.0-<8 hex>`: the release and a hash of its recipe (table row + format). */
export function qemuEntryName(release: QemuRelease): string {
  const recipe = JSON.stringify({ format: ENTRY_FORMAT, ...release });
  const hash = createHash("sha256").update(recipe).digest("hex").slice(0, 8);
  return `qemu-${release.release}-${hash}`;
}

/** Names of cache entries of every known release (what `clean` keeps). */
export function currentQemuEntryNames(): string[] {
  return Object.values(QEMU_RELEASES).map(qemuEntryName);
}

/** Files inside a cache entry. */
export interface QemuEntryPaths {
  readonly directory: string;
  /** The `dpkg -x` tree. */
  readonly root: string;
  /** The wrapper's folder: put it first on `PATH`. */
  readonly binDirectory: string;
  /** The wrapper `bin/qemu-system-x86_64`. */
  readonly binary: string;
  readonly realBinary: string;
  /** `root/usr/share/qemu` (QEMU's own ROMs) and `root/usr/share/seabios` (the BIOS). */
  readonly firmwareDir: string;
  readonly biosDir: string;
  /** `qemu.json`, written last: an entry without it is not complete. */
  readonly manifest: string;
}

/** Where `release`'s entry is (or will be). Pure: nothing is read or fetched. */
export function qemuEntryPaths(
  release: string,
  cacheDirectory: string = defaultCacheDirectory(),
): QemuEntryPaths {
  const directory = join(resolve(cacheDirectory), qemuEntryName(qemuRelease(release)));
  const root = join(directory, "root");
  return {
    directory,
    root,
    binDirectory: join(directory, "bin"),
    binary: join(directory, "bin", "qemu-system-x86_64"),
    realBinary: join(root, "usr", "bin", "qemu-system-x86_64"),
    firmwareDir: join(root, "usr", "share", "qemu"),
    biosDir: join(root, "usr", "share", "seabios"),
    manifest: join(directory, "qemu.json"),
  };
}

/** The one line of the private sources list. */
export function sourcesListLine(release: QemuRelease): string {
  return `deb [signed-by=${release.keyring}] ${release.mirror} ${release.suite} ${release.component}\n`;
}

/** `1:10.0.2+ds-2+deb13u1~bpo12+1` → `10.0.2` (epoch and Debian revision dropped). */
export function upstreamVersion(debianVersion: string): string {
  const withoutEpoch = debianVersion.replace(/^\d+:/, "");
  return withoutEpoch.replace(/[+~-].*$/, "");
}

/** Whether `version` (e.g. `10.0.2`) belongs to `release` (`10.0`). */
export function isReleaseVersion(version: string, release: string): boolean {
  return version === release || version.startsWith(`${release}.`);
}

/** `QEMU emulator version 10.0.2 (Debian …)` → `10.0.2`; undefined if not found. */
export function parseQemuVersion(output: string): string | undefined {
  return /^QEMU emulator version (\d+\.\d+\.\d+)/m.exec(output)?.[1];
}

/** The libraries `ldd` reports as `=> not found`. */
export function missingLibraries(lddOutput: string): string[] {
  const missing: string[] = [];
  for (const line of lddOutput.split("\n")) {
    const match = /^\s*(\S+)\s+=>\s+not found/.exec(line);
    if (match) missing.push(match[1]!);
  }
  return missing;
}
