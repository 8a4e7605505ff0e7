/**
 * The cache key of a built guest: a hash of everything that decides its content,
 * i.e. the builder's own source files and the package list. A change to either
 * makes a new cache entry; the apt candidate versions at build time are recorded
 * in the entry's manifest, not in the key (an `apt-get update` alone does not rebuild).
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Source files that only run or describe a built guest and do not change what is
 * built: editing them must not force a one-minute rebuild.
 */
export const RUNTIME_ONLY_SOURCES: ReadonlySet<string> = new Set([
  "cli.ts",
  "demo.ts",
  "index.ts",
  "qemu-args.ts",
  "launch-guest.ts",
  "qmp-commands.ts",
  "wait-for-socket.ts",
]);

export interface RecipeInput {
  /** File name → content of every source file that shapes the guest. */
  sources: ReadonlyMap<string, string | Uint8Array>;
  /** Debian package names, kernel metapackage included. */
  packages: readonly string[];
}

/** 16 hex digits of SHA-256 over the sorted sources and the packages. Pure. */
export function recipeHash(input: RecipeInput): string {
  const hash = createHash("sha256");
  const field = (value: string | Uint8Array) => {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    hash.update(`${bytes.length}:`);
    hash.update(bytes);
  };
  field("qemu-kvm test guest recipe v1");
  const names = [...input.sources.keys()].sort();
  field(String(names.length));
  for (const name of names) {
    field(name);
    field(input.sources.get(name)!);
  }
  field(String(input.packages.length));
  for (const name of input.packages) field(name);
  return hash.digest("hex").slice(0, 16);
}

/** The builder's source files in `directory` (`*.ts`, runtime-only ones left out). */
export async function readRecipeSources(directory: string): Promise<Map<string, Buffer>> {
  const sources = new Map<string, Buffer>();
  for (const name of (await readdir(directory)).sort()) {
    if (!name.endsWith(".ts") || RUNTIME_ONLY_SOURCES.has(name)) continue;
    sources.set(name, await readFile(join(directory, name)));
  }
  return sources;
}
