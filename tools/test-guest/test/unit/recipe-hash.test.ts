import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { RUNTIME_ONLY_SOURCES, readRecipeSources, recipeHash } from "../../src/recipe-hash.js";

const base = () => ({
  sources: new Map<string, string>([
    ["build-guest.ts", "build"],
    ["recipe.ts", "packages"],
  ]),
  packages: ["linux-image-amd64", "busybox-static"],
});

describe("recipe hash", () => {
  test("is 16 hex digits, stable, and independent of the order files were read", () => {
    const first = recipeHash(base());
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    const reversed = { ...base(), sources: new Map([...base().sources].reverse()) };
    expect(recipeHash(reversed)).toBe(first);
  });

  test("changes with any source byte, a file name, or the package list", () => {
    const first = recipeHash(base());
    const edited = base();
    edited.sources.set("recipe.ts", "packages ");
    expect(recipeHash(edited)).not.toBe(first);
    const renamed = base();
    renamed.sources.delete("recipe.ts");
    renamed.sources.set("recipe2.ts", "packages");
    expect(recipeHash(renamed)).not.toBe(first);
    expect(recipeHash({ ...base(), packages: ["linux-image-amd64"] })).not.toBe(first);
    expect(recipeHash({ ...base(), packages: ["busybox-static", "linux-image-amd64"] })).not.toBe(
      first,
    );
  });

  test("field boundaries are unambiguous", () => {
    const a = { sources: new Map([["ab", "c"]]), packages: [] };
    const b = { sources: new Map([["a", "bc"]]), packages: [] };
    expect(recipeHash(a)).not.toBe(recipeHash(b));
  });

  test("reads the .ts sources of a directory, leaving runtime-only files out", async () => {
    const directory = await mkdtemp(join(tmpdir(), "qk-recipe-"));
    try {
      await writeFile(join(directory, "build-guest.ts"), "x");
      await writeFile(join(directory, "demo.ts"), "y");
      await writeFile(join(directory, "notes.md"), "z");
      const sources = await readRecipeSources(directory);
      expect([...sources.keys()]).toEqual(["build-guest.ts"]);
      expect(RUNTIME_ONLY_SOURCES.has("demo.ts")).toBe(true);
      // Editing a runtime-only file keeps the hash.
      const before = recipeHash({ sources, packages: [] });
      await writeFile(join(directory, "demo.ts"), "changed");
      expect(recipeHash({ sources: await readRecipeSources(directory), packages: [] })).toBe(
        before,
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test("the runtime-only list names files that exist", async () => {
    const sources = join(import.meta.dirname, "..", "..", "src");
    const { readdir } = await import("node:fs/promises");
    const files = new Set(await readdir(sources));
    for (const name of RUNTIME_ONLY_SOURCES) expect(files.has(name), name).toBe(true);
  });
});
