import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The repository root (this file is tools/release-check/src/). */
export const ROOT = join(import.meta.dirname, "..", "..", "..");

/** The fields of a package.json these checks read. */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** One package of the workspace. */
export interface WorkspacePackage {
  name: string;
  /** Its folder, relative to the root (`packages/core`). */
  dir: string;
  manifest: Manifest;
}

/**
 * The folders that `pnpm-workspace.yaml` names. Only the `<folder>/*` form is
 * understood (the one this repository uses); anything else is refused rather than
 * silently missed.
 */
export function workspaceFolders(root = ROOT): string[] {
  const text = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const list = /^packages:\n((?:[ \t]+-[^\n]*\n?)+)/m.exec(text);
  if (!list) throw new Error("pnpm-workspace.yaml: no `packages:` list");
  return list[1]!
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const pattern = line.replace(/^\s*-\s*/, "").replace(/^["']|["']$/g, "");
      const folder = /^([\w.-]+)\/\*$/.exec(pattern);
      if (!folder) throw new Error(`pnpm-workspace.yaml: pattern ${pattern} is not <folder>/*`);
      return folder[1]!;
    });
}

/** Every package of the workspace (the root excluded), in folder order. */
export function workspacePackages(root = ROOT): WorkspacePackage[] {
  const found: WorkspacePackage[] = [];
  for (const parent of workspaceFolders(root))
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (!entry.isDirectory()) continue;
      const dir = `${parent}/${entry.name}`;
      let text: string;
      try {
        text = readFileSync(join(root, dir, "package.json"), "utf8");
      } catch {
        continue; // a folder without a manifest (a leftover build directory) is no package
      }
      const manifest = JSON.parse(text) as Manifest;
      found.push({ name: manifest.name, dir, manifest });
    }
  return found;
}

/** The packages a release publishes: every one that is not private. */
export function publishedPackages(root = ROOT): WorkspacePackage[] {
  return workspacePackages(root).filter((pkg) => pkg.manifest.private !== true);
}

/** The dependency fields that make a package a dependent to release with its dependency. */
const RUNTIME_FIELDS = ["dependencies", "optionalDependencies", "peerDependencies"] as const;

/**
 * The published packages that depend on `name` at run time, directly or through
 * other packages, sorted. Development dependencies do not count: a package whose
 * tests use another is not changed when that one is.
 */
export function dependentsOf(name: string, packages: readonly WorkspacePackage[]): string[] {
  const published = packages.filter((pkg) => pkg.manifest.private !== true);
  const found = new Set<string>();
  const queue = [name];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const pkg of published)
      if (
        !found.has(pkg.name) &&
        RUNTIME_FIELDS.some((field) => pkg.manifest[field]?.[current] !== undefined)
      ) {
        found.add(pkg.name);
        queue.push(pkg.name);
      }
  }
  found.delete(name);
  return [...found].sort();
}

/** The published packages that `name` depends on at run time, directly or not, sorted. */
export function dependenciesOf(name: string, packages: readonly WorkspacePackage[]): string[] {
  const byName = new Map(packages.map((pkg) => [pkg.name, pkg]));
  const found = new Set<string>();
  const queue = [name];
  while (queue.length > 0) {
    const pkg = byName.get(queue.shift()!);
    if (!pkg) continue;
    for (const field of RUNTIME_FIELDS)
      for (const dep of Object.keys(pkg.manifest[field] ?? {}))
        if (byName.has(dep) && byName.get(dep)!.manifest.private !== true && !found.has(dep)) {
          found.add(dep);
          queue.push(dep);
        }
  }
  found.delete(name);
  return [...found].sort();
}
