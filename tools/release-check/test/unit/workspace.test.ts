import { expect, test } from "vitest";
import {
  dependenciesOf,
  dependentsOf,
  type Manifest,
  publishedPackages,
  type WorkspacePackage,
  workspacePackages,
} from "../../src/workspace.js";

function pkg(name: string, fields: Partial<Manifest> = {}): WorkspacePackage {
  return { name, dir: `packages/${name}`, manifest: { name, version: "1.0.0", ...fields } };
}

// leaf ← middle ← top; "tests" (private) and "bench" (dev only) use leaf too.
const graph = [
  pkg("leaf"),
  pkg("middle", { dependencies: { leaf: "workspace:^" } }),
  pkg("top", { peerDependencies: { middle: "workspace:^" } }),
  pkg("other", { optionalDependencies: { top: "workspace:^" } }),
  pkg("bench", { devDependencies: { leaf: "workspace:*" } }),
  pkg("tests", { private: true, dependencies: { leaf: "workspace:*" } }),
];

test("a package's dependents are the published packages that need it at run time, however far up", () => {
  expect(dependentsOf("leaf", graph)).toEqual(["middle", "other", "top"]);
  expect(dependentsOf("top", graph)).toEqual(["other"]);
  expect(dependentsOf("other", graph)).toEqual([]);
});

test("a package's dependencies are the published ones it needs at run time, however far down", () => {
  expect(dependenciesOf("other", graph)).toEqual(["leaf", "middle", "top"]);
  expect(dependenciesOf("tests", graph)).toEqual(["leaf"]);
  expect(dependenciesOf("bench", graph)).toEqual([]);
});

test("the workspace's published packages are packages/*, and no tool", () => {
  const all = workspacePackages();
  const published = publishedPackages().map((p) => p.name);
  expect(published).toEqual(
    expect.arrayContaining([
      "@qemu-kvm/core",
      "@qemu-kvm/bootline",
      "@qemu-kvm/host",
      "@qemu-kvm/monitor",
      "@qemu-kvm/control",
      "@qemu-kvm/pool",
      "qemu-kvm",
    ]),
  );
  for (const p of all)
    expect(published.includes(p.name), p.dir).toBe(p.dir.startsWith("packages/"));
  expect(all.map((p) => p.name)).toContain("@qemu-kvm/release-check");
});

test("in the workspace, the facade depends on monitor, and everything published on core", () => {
  const all = workspacePackages();
  expect(dependentsOf("@qemu-kvm/monitor", all)).toEqual(["qemu-kvm"]);
  expect(dependentsOf("@qemu-kvm/core", all)).toEqual(
    publishedPackages()
      .map((p) => p.name)
      .filter((name) => name !== "@qemu-kvm/core")
      .sort(),
  );
});
