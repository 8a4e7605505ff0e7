/**
 * Writes the initramfs tree and packs it with busybox's cpio (`-o -H newc`, owner
 * root, uncompressed: gzip would cost 0.1–0.2 s of boot under TCG). The busybox
 * used is the downloaded busybox-static, so the host needs neither cpio nor busybox.
 */
import { chmod, copyFile, lstat, mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TreeEntry } from "./guest-files.js";
import { runCommandToFile } from "./run-command.js";

export interface PackOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Creates `entries` under `root` (parents as needed; modes set exactly, umask aside). */
export async function writeTree(root: string, entries: readonly TreeEntry[]): Promise<void> {
  for (const entry of entries) {
    const path = join(root, entry.path);
    await mkdir(dirname(path), { recursive: true });
    if (entry.kind === "directory") {
      await mkdir(path, { recursive: true });
      await chmod(path, entry.mode);
    } else if (entry.kind === "file") {
      await writeFile(path, entry.content);
      await chmod(path, entry.mode);
    } else {
      await symlink(entry.target, path);
    }
  }
}

/** Copies a file into the tree (parents as needed) and sets its mode. */
export async function copyInto(root: string, source: string, path: string, mode: number) {
  const target = join(root, path);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(source, target);
  await chmod(target, mode);
}

/**
 * Symlinks each applet path busybox lists (`bin/sh`, `sbin/init`…) to /bin/busybox,
 * leaving paths that already exist (e.g. our /sbin/shutdown) alone.
 */
export async function linkApplets(root: string, appletPaths: readonly string[]): Promise<number> {
  let linked = 0;
  for (const applet of appletPaths) {
    if (!applet.includes("/") || applet === "bin/busybox") continue;
    const path = join(root, applet);
    if (await exists(path)) continue;
    await mkdir(dirname(path), { recursive: true });
    await symlink("/bin/busybox", path);
    linked++;
  }
  return linked;
}

/** Every path under `root`, relative, each directory before its contents, sorted. */
export async function listTree(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(join(root, prefix), { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push(path);
    if (entry.isDirectory()) out.push(...(await listTree(root, path)));
  }
  return out;
}

/** `busybox cpio -o -H newc -R 0:0` of the whole tree into `output`. */
export async function packInitramfs(
  busybox: string,
  root: string,
  output: string,
  options: PackOptions = {},
): Promise<void> {
  const paths = await listTree(root);
  await runCommandToFile(busybox, ["cpio", "-o", "-H", "newc", "-R", "0:0"], output, {
    ...options,
    cwd: root,
    input: `${paths.join("\n")}\n`,
  });
}
