import { join } from "node:path";
import { runOk } from "./process.js";
import { type Manifest, publishedPackages, ROOT, type WorkspacePackage } from "./workspace.js";

/** One package as `pnpm pack` wrote it. */
export interface Tarball {
  name: string;
  version: string;
  /** Absolute path of the `.tgz`. */
  file: string;
  /** The files in it, relative to the package root (`dist/index.js`, `package.json`…). */
  files: string[];
}

/**
 * Builds the published packages with turbo (a cache hit when `pnpm test` has just
 * built them), so that what is packed is the current source, never a stale `dist`.
 */
export async function buildPublished(root = ROOT): Promise<void> {
  const filters = publishedPackages(root).map((pkg) => `--filter=${pkg.name}`);
  await runOk(
    join(root, "node_modules", ".bin", "turbo"),
    ["run", "build", ...filters, "--output-logs=errors-only"],
    { cwd: root, timeoutMs: 600_000, env: { TURBO_TELEMETRY_DISABLED: "1" } },
  );
}

/** `pnpm pack` of each published package into `destination`, as a publish would pack it. */
export async function packPublished(destination: string, root = ROOT): Promise<Tarball[]> {
  const tarballs: Tarball[] = [];
  for (const pkg of publishedPackages(root)) tarballs.push(await packOne(pkg, destination, root));
  return tarballs;
}

async function packOne(pkg: WorkspacePackage, destination: string, root: string): Promise<Tarball> {
  const { stdout } = await runOk("pnpm", ["pack", "--pack-destination", destination, "--json"], {
    cwd: join(root, pkg.dir),
    timeoutMs: 60_000,
  });
  const packed = JSON.parse(stdout) as {
    name: string;
    version: string;
    filename: string;
    files: { path: string }[];
  };
  if (packed.name !== pkg.name) throw new Error(`pnpm pack in ${pkg.dir} packed ${packed.name}`);
  return {
    name: packed.name,
    version: packed.version,
    file: packed.filename,
    files: packed.files.map((file) => file.path).sort(),
  };
}

/** The `package.json` inside a tarball: the manifest the registry would serve. */
export async function packedManifest(tarball: string): Promise<Manifest> {
  const { stdout } = await runOk("tar", ["-xzOf", tarball, "package/package.json"], {
    cwd: ROOT,
    timeoutMs: 30_000,
  });
  return JSON.parse(stdout) as Manifest;
}
