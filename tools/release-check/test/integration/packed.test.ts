import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { attw, publint } from "../../src/lint.js";
import { packedManifest, type Tarball } from "../../src/pack.js";
import type { Manifest } from "../../src/workspace.js";
import { publishedPackages } from "../../src/workspace.js";
import { buildAndPack, type Packed } from "../helpers/packed.js";

/**
 * Every published package, packed by `pnpm pack` as a publish packs it, is what a
 * registry should serve: publint and attw (ESM only) find nothing, and the manifest
 * names nothing of the workspace (no `@qemu-kvm/source` condition, no `workspace:`
 * range, no file outside the tarball).
 */
const published = publishedPackages();
const PACKED = /^(?:dist\/.+|package\.json|README\.md|CHANGELOG\.md|LICENSE(?:\.\w+)?)$/;
let packed: Packed | undefined;

beforeAll(async () => {
  packed = await buildAndPack();
});

afterAll(async () => {
  await packed?.dir.remove();
});

function tarballOf(name: string): Tarball {
  const tarball = packed?.tarballs.find((t) => t.name === name);
  if (!tarball) throw new Error(`${name} was not packed`);
  return tarball;
}

test("every published package is packed, and only those", () => {
  expect(packed!.tarballs.map((t) => t.name).sort()).toEqual(published.map((p) => p.name).sort());
});

describe.each(published.map((p) => p.name))("%s", (name) => {
  let manifest: Manifest;
  beforeAll(async () => {
    manifest = await packedManifest(tarballOf(name).file);
  });

  test("its packed manifest names nothing of the workspace", () => {
    const text = JSON.stringify(manifest);
    expect(text).not.toContain("@qemu-kvm/source");
    expect(text).not.toContain("workspace:");
    expect(text).not.toMatch(/"\.\/src\//);
  });

  test("it depends on the current version of each of our packages it uses", () => {
    const versions = new Map(published.map((p) => [p.name, p.manifest.version]));
    const ours = Object.entries(manifest.dependencies ?? {}).filter(([dep]) => versions.has(dep));
    expect(ours).toEqual(ours.map(([dep]) => [dep, `^${versions.get(dep)}`]));
  });

  test("every file its exports and types name is in the tarball", () => {
    const files = tarballOf(name).files;
    const named = JSON.stringify([manifest.exports, manifest.types, manifest.main])
      .match(/"\.\/[^"]+"/g)!
      .map((path) => path.slice(3, -1));
    expect(named).toContain("dist/index.js");
    expect(named).toContain("dist/index.d.ts");
    for (const path of named) expect(files, path).toContain(path);
  });

  test("it holds its build, manifest and docs, and nothing else (no sources, tests, configs)", () => {
    const files = tarballOf(name).files;
    expect(files).toContain("package.json");
    expect(files.filter((path) => !PACKED.test(path))).toEqual([]);
  });

  test("publint reports nothing, not even a suggestion", async () => {
    const report = await publint(tarballOf(name).file);
    expect(report.clean, report.output).toBe(true);
  });

  test("attw finds the types of every entry point (ESM only)", async () => {
    const report = await attw(tarballOf(name).file);
    expect(report.clean, report.output).toBe(true);
  });
});
