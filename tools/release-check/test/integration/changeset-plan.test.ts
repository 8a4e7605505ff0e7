import { test } from "@qemu-kvm/testkit/fixtures";
import { describe, expect } from "vitest";
import { type Bump, copyForChangesets, versionWith } from "../../src/changesets.js";
import { dependentsOf, workspacePackages } from "../../src/workspace.js";

/**
 * Releases go package by package: `changeset version`, with one changeset, bumps
 * that package and the published packages that depend on it (a patch each), and
 * nothing else: no sibling, no private tool. Run in a copy of the manifests and
 * `.changeset/config.json` (never the working tree, and without the pending
 * changesets), both at the versions in the repository and in a released state
 * where a dependency's new patch or minor still fits its dependents' caret ranges.
 */
const packages = workspacePackages();

function next(version: string, bump: Bump): string {
  const [major, minor, patch] = version.split(".").map(Number) as [number, number, number];
  if (bump === "major") return `${major + 1}.0.0`;
  if (bump === "minor") return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

const STATES = [
  { state: "at the repository's versions", version: undefined },
  { state: "once released, every package at 1.2.0", version: "1.2.0" },
];
const CHANGES: { name: string; bump: Bump }[] = [
  { name: "@qemu-kvm/monitor", bump: "patch" },
  { name: "@qemu-kvm/core", bump: "patch" },
  { name: "@qemu-kvm/host", bump: "minor" },
];

describe.each(STATES)("$state", ({ version }) => {
  test.for(CHANGES)(
    "a $bump of $name bumps it and its dependents only",
    async ({ name, bump }, { tempDir }) => {
      await copyForChangesets(tempDir.path, version === undefined ? {} : { version });
      const bumped = await versionWith(tempDir.path, name, bump);
      const from = (pkg: string) =>
        version ?? packages.find((p) => p.name === pkg)!.manifest.version;
      const expected = [
        { name, from: from(name), to: next(from(name), bump) },
        ...dependentsOf(name, packages).map((dependent) => ({
          name: dependent,
          from: from(dependent),
          to: next(from(dependent), "patch"),
        })),
      ].sort((a, b) => a.name.localeCompare(b.name));
      expect(bumped).toEqual(expected);
    },
  );
});
