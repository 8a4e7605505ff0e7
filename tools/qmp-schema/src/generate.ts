import { readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { QemuBuild } from "@qemu-kvm/testkit";
import { formatTypeScript } from "./format.js";
import { introspect } from "./introspect.js";
import { renderSchemaModule, versionKey } from "./render.js";
import { renderVersionsModule, versionOfFile } from "./versions-file.js";

/** The generated files: name → content. */
export type GeneratedFiles = Map<string, string>;

/**
 * Introspects each QEMU and renders `qemu-<major.minor>.ts` for it, plus
 * `versions.ts` over those and the schemas already in `directory`.
 * Throws when a build reports another version than it is listed as.
 */
export async function generateSchemas(
  builds: readonly QemuBuild[],
  directory: string,
): Promise<GeneratedFiles> {
  const files: GeneratedFiles = new Map();
  for (const build of builds) {
    const { version, schema } = await introspect(build);
    const key = versionKey(version);
    if (key !== build.version)
      throw new Error(`${build.binary} is QEMU ${key}, not the ${build.version} it is listed as`);
    const name = `qemu-${key}.ts`;
    const source = renderSchemaModule({ version, schema, program: basename(build.binary) });
    files.set(name, await formatTypeScript(source, join(directory, name)));
  }
  const existing = (await readdir(directory)).map(versionOfFile);
  const versions = [...existing, ...[...files.keys()].map(versionOfFile)];
  const index = renderVersionsModule(versions.filter((version) => version !== undefined));
  files.set("versions.ts", await formatTypeScript(index, join(directory, "versions.ts")));
  return files;
}

/** Writes the files; returns the names of those whose content changed. */
export async function writeFiles(files: GeneratedFiles, directory: string): Promise<string[]> {
  const changed: string[] = [];
  for (const [name, content] of files) {
    const path = join(directory, name);
    const before = await readFile(path, "utf8").catch(() => undefined);
    if (before === content) continue;
    await writeFile(path, content);
    changed.push(name);
  }
  return changed;
}
