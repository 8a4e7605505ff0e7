import { copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runOk } from "./process.js";
import { ROOT, workspaceFolders, workspacePackages } from "./workspace.js";

export type Bump = "patch" | "minor" | "major";

/** A package `changeset version` gave a new version. */
export interface Bumped {
  name: string;
  from: string;
  to: string;
}

export interface CopyOptions {
  /** Give every package this version in the copy (a released state), instead of its own. */
  version?: string;
}

/**
 * Copies what changesets reads into `dir`, never touching the working tree: the
 * root manifest, `pnpm-workspace.yaml`, `.changeset/config.json` (and none of the
 * pending changesets) and every workspace package's `package.json`. `node_modules`
 * is linked to the root's so the configured changelog module resolves.
 */
export async function copyForChangesets(
  dir: string,
  options: CopyOptions = {},
  root = ROOT,
): Promise<void> {
  await mkdir(join(dir, ".changeset"));
  await copyFile(join(root, "package.json"), join(dir, "package.json"));
  await copyFile(join(root, "pnpm-workspace.yaml"), join(dir, "pnpm-workspace.yaml"));
  await copyFile(join(root, ".changeset", "config.json"), join(dir, ".changeset", "config.json"));
  for (const folder of workspaceFolders(root)) await mkdir(join(dir, folder));
  for (const pkg of workspacePackages(root)) {
    const manifest = { ...pkg.manifest };
    if (options.version !== undefined) manifest.version = options.version;
    await mkdir(join(dir, pkg.dir));
    await writeFile(join(dir, pkg.dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  await symlink(join(root, "node_modules"), join(dir, "node_modules"), "dir");
}

/**
 * Writes one changeset (`bump` of `name`) into the copy at `dir`, runs
 * `changeset version` there and returns every package whose version it changed,
 * sorted by name.
 */
export async function versionWith(dir: string, name: string, bump: Bump): Promise<Bumped[]> {
  const before = versions(dir);
  const changeset = `---\n${JSON.stringify(name)}: ${bump}\n---\n\nrelease-check: ${bump} ${name}\n`;
  await writeFile(join(dir, ".changeset", "release-check.md"), changeset);
  await runOk(join(ROOT, "node_modules", ".bin", "changeset"), ["version"], {
    cwd: dir,
    timeoutMs: 120_000,
  });
  const after = versions(dir);
  return [...before]
    .filter(([pkg, version]) => after.get(pkg) !== version)
    .map(([pkg, from]) => ({ name: pkg, from, to: after.get(pkg)! }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function versions(dir: string): Map<string, string> {
  return new Map(workspacePackages(dir).map((pkg) => [pkg.name, pkg.manifest.version]));
}
