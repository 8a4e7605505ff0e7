/**
 * The shared libraries dynamic programs need, found inside the tree the Debian
 * packages were unpacked into (not on the host, whose libraries may differ or be
 * missing): what `ldd` would list, computed from `DT_NEEDED` without running anything.
 */
import { readFile, readlink, stat } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import { interpreter, neededLibraries } from "./elf.js";
import { GuestBuildError } from "./errors.js";

/** Where Debian bookworm's packages put amd64 libraries, in the loader's order. */
export const LIBRARY_DIRECTORIES = [
  "lib/x86_64-linux-gnu",
  "usr/lib/x86_64-linux-gnu",
  "lib64",
  "lib",
  "usr/lib",
] as const;

/**
 * Every soname the programs need, directly or through other libraries, each once,
 * in discovery order. `neededBy(soname)` returns a library's own `DT_NEEDED`, or
 * undefined if it cannot be found. Pure.
 */
export function libraryClosure(
  programs: ReadonlyMap<string, readonly string[]>,
  neededBy: (soname: string) => readonly string[] | undefined,
): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const queue: Array<{ soname: string; by: string }> = [];
  for (const [program, needed] of programs)
    for (const soname of needed) queue.push({ soname, by: program });
  const missing: string[] = [];
  while (queue.length > 0) {
    const { soname, by } = queue.shift()!;
    if (seen.has(soname)) continue;
    seen.add(soname);
    const needed = neededBy(soname);
    if (!needed) {
      missing.push(`${soname} (needed by ${by})`);
      continue;
    }
    found.push(soname);
    for (const next of needed) queue.push({ soname: next, by: soname });
  }
  if (missing.length > 0)
    throw new GuestBuildError(
      `shared libraries not found in the unpacked packages: ${missing.join(", ")}; ` +
        "add the Debian packages that provide them to the recipe",
    );
  return found;
}

/** Resolves symlinks inside `root` (absolute targets point into `root`, not the host). */
export async function resolveInRoot(root: string, path: string, depth = 0): Promise<string> {
  if (depth > 16) throw new GuestBuildError(`too many symlinks resolving ${path}`);
  const full = join(root, path);
  let target: string;
  try {
    target = await readlink(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EINVAL") return path; // not a symlink
    throw error;
  }
  const next = isAbsolute(target) ? target.slice(1) : join(path, "..", target);
  return resolveInRoot(root, relative(root, join(root, next)), depth + 1);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export interface ProgramLibraries {
  /** The loader path the programs name (PT_INTERP), e.g. `/lib64/ld-linux-x86-64.so.2`. */
  interpreter: string;
  /** soname → path of the real file, relative to `root` (symlinks resolved). */
  libraries: Map<string, string>;
}

/**
 * Finds, inside `root`, the loader and every library that `programs` (paths
 * relative to `root`) need. Throws `GuestBuildError` naming what is missing.
 */
export async function findProgramLibraries(
  root: string,
  programs: readonly string[],
): Promise<ProgramLibraries> {
  const direct = new Map<string, string[]>();
  let loader: string | undefined;
  for (const program of programs) {
    const data = await readFile(join(root, await resolveInRoot(root, program)));
    direct.set(program, neededLibraries(data, program));
    const interp = interpreter(data, program);
    if (interp && loader && interp !== loader)
      throw new GuestBuildError(`${program} wants loader ${interp}, others ${loader}`);
    loader ??= interp;
  }
  if (!loader) throw new GuestBuildError(`none of ${programs.join(", ")} is dynamically linked`);
  // Read each candidate library once, up front, so the closure itself stays pure.
  const located = new Map<string, { path: string; needed: string[] }>();
  const locate = async (soname: string) => {
    if (located.has(soname)) return;
    for (const directory of LIBRARY_DIRECTORIES) {
      const candidate = join(directory, soname);
      if (!(await isFile(join(root, candidate)))) continue;
      const path = await resolveInRoot(root, candidate);
      const needed = neededLibraries(await readFile(join(root, path)), soname);
      located.set(soname, { path, needed });
      for (const next of needed) await locate(next);
      return;
    }
  };
  for (const needed of direct.values()) for (const soname of needed) await locate(soname);
  const closure = libraryClosure(direct, (soname) => located.get(soname)?.needed);
  const libraries = new Map(closure.map((soname) => [soname, located.get(soname)!.path]));
  return { interpreter: loader, libraries };
}
