import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Tarball } from "./pack.js";
import { runOk } from "./process.js";

/** A package installed in the blank project, as its lockfile records it. */
export interface Installed {
  name: string;
  version: string;
  /** Where npm took it from: `file:…tgz` for ours, absent for the registry's. */
  resolved?: string;
}

/**
 * Makes `dir` a blank ESM project (its own `package.json`, outside any workspace)
 * that depends on the package `name` alone, and installs it with npm. The project
 * names no other package of ours: `overrides` send every one of them to its tarball,
 * so whatever `name` depends on of ours comes from the tarballs, as declared in the
 * packed manifests, and the rest (execa, ssh2…) from the npm registry. Install
 * scripts do not run, as in the workspace (`allowBuilds`: ssh2 runs as plain
 * JavaScript).
 */
export async function installAlone(
  dir: string,
  name: string,
  tarballs: readonly Tarball[],
): Promise<Installed[]> {
  const spec = (tarball: Tarball) => `file:${tarball.file}`;
  const main = tarballs.find((tarball) => tarball.name === name);
  if (!main) throw new Error(`no tarball of ${name}`);
  const manifest = {
    name: "blank-project",
    version: "1.0.0",
    private: true,
    type: "module",
    dependencies: { [name]: spec(main) },
    overrides: Object.fromEntries(
      tarballs
        .filter((tarball) => tarball !== main)
        .map((tarball) => [tarball.name, spec(tarball)]),
    ),
  };
  await writeFile(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await runOk(
    "npm",
    ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
    { cwd: dir, timeoutMs: 300_000, env: { npm_config_update_notifier: "false" } },
  );
  return installedPackages(dir);
}

/** Every package in the project's `node_modules`, from npm's lockfile. */
export async function installedPackages(dir: string): Promise<Installed[]> {
  const lock = JSON.parse(await readFile(join(dir, "package-lock.json"), "utf8")) as {
    packages: Record<string, { name?: string; version: string; resolved?: string }>;
  };
  return Object.entries(lock.packages)
    .filter(([path]) => path.startsWith("node_modules/"))
    .map(([path, entry]) => ({
      name: entry.name ?? path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length),
      version: entry.version,
      ...(entry.resolved === undefined ? {} : { resolved: entry.resolved }),
    }));
}
