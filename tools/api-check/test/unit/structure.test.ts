import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { sourceFiles } from "../../src/packages.js";
import { ROOT } from "../../src/readme-blocks.js";

/**
 * The import graph of the published packages, as DESIGN draws it: core at the
 * bottom with an arrow from every package, pool → host, the facade over all,
 * nothing else between siblings, and so no cycle.
 */
const ALLOWED: Record<string, string[]> = {
  "@qemu-kvm/core": [],
  "@qemu-kvm/bootline": ["@qemu-kvm/core"],
  "@qemu-kvm/host": ["@qemu-kvm/core"],
  "@qemu-kvm/monitor": ["@qemu-kvm/core"],
  "@qemu-kvm/control": ["@qemu-kvm/core"],
  "@qemu-kvm/pool": ["@qemu-kvm/core", "@qemu-kvm/host"],
  "qemu-kvm": [
    "@qemu-kvm/core",
    "@qemu-kvm/bootline",
    "@qemu-kvm/host",
    "@qemu-kvm/monitor",
    "@qemu-kvm/control",
    "@qemu-kvm/pool",
  ],
};
const DIRS: Record<string, string> = {
  "@qemu-kvm/core": "packages/core",
  "@qemu-kvm/bootline": "packages/bootline",
  "@qemu-kvm/host": "packages/host",
  "@qemu-kvm/monitor": "packages/monitor",
  "@qemu-kvm/control": "packages/control",
  "@qemu-kvm/pool": "packages/pool",
  "qemu-kvm": "packages/qemu-kvm",
};
const WORKSPACE = /^(?:@qemu-kvm\/[a-z-]+|qemu-kvm)$/;

function manifest(name: string): { dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(ROOT, DIRS[name]!, "package.json"), "utf8"));
}

/** The workspace packages a package's sources import. */
function imported(name: string): Set<string> {
  const found = new Set<string>();
  for (const file of sourceFiles(join(DIRS[name]!, "src"))) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const match of text.matchAll(/\bfrom\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)) {
      const specifier = match[1] ?? match[2]!;
      const root = specifier.startsWith("@")
        ? specifier.split("/").slice(0, 2).join("/")
        : specifier.split("/")[0]!;
      if (WORKSPACE.test(root)) found.add(root);
    }
  }
  found.delete(name);
  return found;
}

describe.each(Object.keys(ALLOWED))("%s", (name) => {
  const allowed = ALLOWED[name]!;

  test("its runtime dependencies in the workspace are the ones the design allows", () => {
    const declared = Object.keys(manifest(name).dependencies ?? {}).filter((dep) =>
      WORKSPACE.test(dep),
    );
    expect(declared.sort()).toEqual([...allowed].sort());
  });

  test("its sources import nothing of the workspace but those", () => {
    const strays = [...imported(name)].filter((dep) => !allowed.includes(dep));
    expect(strays).toEqual([]);
  });

  test("no source file over 400 lines", () => {
    const long = sourceFiles(join(DIRS[name]!, "src"))
      .map((file) => ({
        file,
        lines: readFileSync(join(ROOT, file), "utf8").split("\n").length - 1,
      }))
      .filter(({ lines }) => lines > 400);
    expect(long).toEqual([]);
  });
});

test("every package but core depends on core, and the graph has no cycle", () => {
  for (const [name, deps] of Object.entries(ALLOWED))
    if (name !== "@qemu-kvm/core") expect(deps).toContain("@qemu-kvm/core");
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string): void => {
    if (done.has(name)) return;
    expect(visiting.has(name), `cycle through ${name}`).toBe(false);
    visiting.add(name);
    for (const dep of ALLOWED[name]!) visit(dep);
    visiting.delete(name);
    done.add(name);
  };
  for (const name of Object.keys(ALLOWED)) visit(name);
});
