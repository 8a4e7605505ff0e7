/**
 * A built guest: its manifest (`guest.json` in the cache entry) and the
 * `TestGuest` handle that later packages boot with their own argv.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { GuestBuildError } from "./errors.js";
import { type GuestQemuOptions, guestQemuArgs } from "./qemu-args.js";
import { GUEST_AGENT_PORT, GUEST_CREDENTIALS } from "./recipe.js";

export const MANIFEST_FILE = "guest.json";
export const MANIFEST_FORMAT = 1;

/** File names inside a cache entry. */
export const GUEST_FILES = {
  kernel: "vmlinux",
  compressedKernel: "vmlinuz",
  initrd: "initrd.img",
  sshPrivateKey: "id_ed25519",
  sshPublicKey: "id_ed25519.pub",
} as const;

export interface GuestManifest {
  format: typeof MANIFEST_FORMAT;
  recipeHash: string;
  /** e.g. `6.1.0-56-amd64`. */
  kernelVersion: string;
  append: string;
  /** Every Debian package used, with the version apt gave at build time. */
  packages: Array<{ name: string; version: string }>;
  /** Kernel modules the guest loads, in order. */
  modules: string[];
  /** Shared libraries copied in (sonames) and the loader. */
  libraries: string[];
  interpreter: string;
  sshPublicKey: string;
  sizes: { kernelBytes: number; compressedKernelBytes: number; initrdBytes: number };
  builtAt: string;
  buildMs: number;
}

export interface GuestCredentials {
  readonly user: string;
  readonly password: string;
  /** `login:` (getty prints `guest login: `). */
  readonly loginPrompt: string;
  /** `Password:`. */
  readonly passwordPrompt: string;
  /** The root shell prompt ends with `# ` (followed by `ESC[6n` on the raw stream). */
  readonly shellPromptSuffix: string;
}

export interface TestGuest {
  /** The cache entry holding every file below. */
  readonly directory: string;
  readonly recipeHash: string;
  /** The uncompressed ELF kernel (boots ~3 s faster under TCG). */
  readonly kernelPath: string;
  /** Debian's compressed bzImage, kept as the benchmark baseline. */
  readonly compressedKernelPath: string;
  /** Uncompressed newc initramfs. */
  readonly initrdPath: string;
  /** The kernel command line (`-append`). */
  readonly append: string;
  readonly kernelVersion: string;
  readonly credentials: GuestCredentials;
  /** Private key (mode 0600, OpenSSH format) accepted for the guest's root over SSH. */
  readonly sshPrivateKeyPath: string;
  readonly sshPublicKey: string;
  /** `org.qemu.guest_agent.0`. */
  readonly guestAgentPortName: string;
  readonly manifest: GuestManifest;
  /** QEMU argv (without the binary) booting this guest: see `GuestQemuOptions`. */
  qemuArgs(options?: GuestQemuOptions): string[];
}

export function testGuestFrom(directory: string, manifest: GuestManifest): TestGuest {
  const files = {
    kernelPath: join(directory, GUEST_FILES.kernel),
    compressedKernelPath: join(directory, GUEST_FILES.compressedKernel),
    initrdPath: join(directory, GUEST_FILES.initrd),
    append: manifest.append,
  };
  return {
    directory,
    recipeHash: manifest.recipeHash,
    ...files,
    kernelVersion: manifest.kernelVersion,
    credentials: { ...GUEST_CREDENTIALS },
    sshPrivateKeyPath: join(directory, GUEST_FILES.sshPrivateKey),
    sshPublicKey: manifest.sshPublicKey,
    guestAgentPortName: GUEST_AGENT_PORT,
    manifest,
    qemuArgs: (options) => guestQemuArgs(files, options),
  };
}

/**
 * The guest in `directory` if it is complete (manifest of this format and every
 * file present), else undefined.
 */
export async function loadGuest(directory: string): Promise<TestGuest | undefined> {
  let manifest: GuestManifest;
  try {
    manifest = JSON.parse(await readFile(join(directory, MANIFEST_FILE), "utf8")) as GuestManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  if (manifest.format !== MANIFEST_FORMAT) return undefined;
  try {
    await Promise.all(Object.values(GUEST_FILES).map((name) => access(join(directory, name))));
  } catch {
    return undefined;
  }
  if (typeof manifest.append !== "string")
    throw new GuestBuildError(`${join(directory, MANIFEST_FILE)} has no kernel command line`);
  return testGuestFrom(directory, manifest);
}
