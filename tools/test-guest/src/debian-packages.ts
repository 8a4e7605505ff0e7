/**
 * Debian packages through apt's own clients: `apt-cache depends` to resolve a
 * metapackage, `apt-get download` (no root needed, nothing installed) and `dpkg -x`.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { GuestBuildError } from "./errors.js";
import { runCommand } from "./run-command.js";

export interface DebianPackage {
  name: string;
  version: string;
  architecture: string;
  /** The downloaded `.deb`, absolute. */
  file: string;
}

/**
 * The names listed as `Depends:` in `apt-cache depends NAME` output (first
 * package only; `|` alternatives and virtual `<names>` kept as written).
 */
export function parseDepends(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split("\n")) {
    const match = /^\s+\|?Depends:\s+(\S+)/.exec(line);
    if (match) names.push(match[1]!);
    else if (names.length > 0 && /^\S/.test(line)) break; // the next package's block
  }
  return names;
}

/** The kernel image a `linux-image-amd64`-style metapackage depends on. */
export function kernelImageDependency(metapackage: string, dependsOutput: string): string {
  const image = parseDepends(dependsOutput).find((name) =>
    /^linux-image-\d+\.\d+\.\d+-\d+-[\w-]+$/.test(name),
  );
  if (!image)
    throw new GuestBuildError(
      `${metapackage} depends on no linux-image-X.Y.Z-N-FLAVOUR package: ${dependsOutput.trim()}`,
    );
  return image;
}

/** `busybox-static_1%3a1.35.0-4_amd64.deb` → name, version `1:1.35.0-4`, architecture. */
export function parseDebFileName(fileName: string): Omit<DebianPackage, "file"> | undefined {
  const match = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(fileName);
  if (!match) return undefined;
  return {
    name: match[1]!,
    version: decodeURIComponent(match[2]!),
    architecture: match[3]!,
  };
}

export interface AptOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export async function resolveKernelImage(
  metapackage: string,
  options: AptOptions = {},
): Promise<string> {
  const { stdout } = await runCommand("apt-cache", ["depends", metapackage], options);
  return kernelImageDependency(metapackage, stdout);
}

/**
 * `apt-get download` of every package into `directory` (the candidate versions of
 * the machine's apt lists, so `apt-get update` must have run). Returns them in the
 * order asked.
 */
export async function downloadPackages(
  names: readonly string[],
  directory: string,
  options: AptOptions = {},
): Promise<DebianPackage[]> {
  // As root, apt drops to the `_apt` user, who cannot write a private temp dir:
  // it then warns and downloads as root anyway. Say so up front instead.
  const sandbox = process.getuid?.() === 0 ? ["-o", "APT::Sandbox::User=root"] : [];
  try {
    await runCommand("apt-get", [...sandbox, "download", "--", ...names], {
      ...options,
      cwd: directory,
    });
  } catch (error) {
    throw new GuestBuildError(
      `apt-get download failed (has \`apt-get update\` run on this machine?): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const downloaded = new Map<string, DebianPackage>();
  for (const fileName of await readdir(directory)) {
    const parsed = parseDebFileName(fileName);
    if (parsed) downloaded.set(parsed.name, { ...parsed, file: join(directory, fileName) });
  }
  return names.map((name) => {
    const found = downloaded.get(name);
    if (!found) throw new GuestBuildError(`apt-get download gave no .deb for ${name}`);
    return found;
  });
}

/** `dpkg -x`: unpacks a package's files (no scripts run) under `directory`. */
export async function unpackPackage(
  deb: DebianPackage,
  directory: string,
  options: AptOptions = {},
): Promise<void> {
  await runCommand("dpkg", ["-x", deb.file, directory], options);
}
