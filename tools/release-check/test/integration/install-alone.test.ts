import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { ensureGuest } from "@qemu-kvm/test-guest";
import { makeTempDir, type TempDir } from "@qemu-kvm/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Installed, installAlone } from "../../src/blank-project.js";
import { describeFailure, run } from "../../src/process.js";
import {
  type Example,
  toJavaScript,
  typeCheck,
  typescriptBlocks,
} from "../../src/readme-examples.js";
import { dependenciesOf, publishedPackages, ROOT } from "../../src/workspace.js";
import { buildAndPack, type Packed } from "../helpers/packed.js";

/**
 * A user's first minutes, from the tarballs a release would publish: in a blank
 * project outside the workspace, install one package alone (ours from the
 * tarballs, third parties from the registry), import it in plain Node, and run the
 * README's examples as written: type-checked against the installed `.d.ts`, then
 * run by Node with their types stripped.
 */
const published = publishedPackages();
let packed: Packed | undefined;

beforeAll(async () => {
  packed = await buildAndPack();
});

afterAll(async () => {
  await packed?.dir.remove();
});

describe.each(["@qemu-kvm/bootline", "qemu-kvm"])("%s, installed alone", (name) => {
  const sourceReadme = join(ROOT, published.find((p) => p.name === name)!.dir, "README.md");
  let project: TempDir | undefined;
  let installed: Installed[] = [];
  let examples: Example[] = [];

  beforeAll(async () => {
    project = await makeTempDir("qk-blank-");
    installed = await installAlone(project.path, name, packed!.tarballs);
    const readme = join(project.path, "node_modules", name, "README.md");
    examples = existsSync(readme) ? typescriptBlocks(readFileSync(readme, "utf8")) : [];
  });

  afterAll(async () => {
    await project?.remove();
  });

  test("the blank project is outside the workspace", () => {
    expect(relative(ROOT, project!.path)).toMatch(/^\.\.\//);
  });

  test("it and the packages of ours it depends on come from the tarballs, and no other of ours", () => {
    const ours = new Set(published.map((p) => p.name));
    const found = installed.filter((pkg) => ours.has(pkg.name));
    expect(found.map((pkg) => pkg.name).sort()).toEqual(
      [name, ...dependenciesOf(name, published)].sort(),
    );
    for (const pkg of found) {
      const tarball = packed!.tarballs.find((t) => t.name === pkg.name)!;
      expect(pkg.resolved, pkg.name).toMatch(/^file:.*\.tgz$/);
      expect(pkg.version, pkg.name).toBe(tarball.version);
    }
  });

  test("plain Node imports it", async () => {
    const script = `const m = await import(${JSON.stringify(name)}); console.log(typeof m);`;
    const result = await run("node", ["--input-type=module", "--eval", script], {
      cwd: project!.path,
      timeoutMs: 60_000,
    });
    expect(result.exitCode, describeFailure(result)).toBe(0);
    expect(result.stdout.trim()).toBe("object");
  });

  test("its README went into the tarball with the examples the workspace's README has", () => {
    const expected = existsSync(sourceReadme)
      ? typescriptBlocks(readFileSync(sourceReadme, "utf8"))
      : [];
    expect(examples).toEqual(expected);
    if (name === "@qemu-kvm/bootline") expect(examples.length).toBeGreaterThan(0);
  });

  test("its README's examples type-check against the installed declarations", async () => {
    // Its declarations, imported whole, even when its README has no example yet.
    const entry = join(project!.path, "import-all.ts");
    await writeFile(
      entry,
      `import * as pkg from ${JSON.stringify(name)};\nexport type Package = typeof pkg;\n`,
    );
    const files = [entry];
    for (const example of examples) {
      const file = join(project!.path, `readme-${example.line}.ts`);
      await writeFile(file, `${example.code}\nexport {};\n`);
      files.push(file);
    }
    const modules = join(project!.path, "node_modules");
    const ours = published.map((p) => `${join(modules, p.name)}/`);
    const problems = typeCheck(files, (path) => ours.some((dir) => path.startsWith(dir)));
    // Where in the README: readme-<first line>.ts:<line> is README.md:<first line + line - 1>.
    const inReadme = problems.map((problem) =>
      problem.replace(
        /^.*\/readme-(\d+)\.ts:(\d+):/,
        (_, first: string, line: string) => `README.md:${Number(first) + Number(line) - 1}:`,
      ),
    );
    expect(inReadme).toEqual([]);
  });

  test("its README's examples run as written", async () => {
    // The facade's examples boot a guest: the repository's test guest, named as they ask.
    const guest = examples.some((example) => example.code.includes("GUEST_KERNEL"))
      ? await ensureGuest()
      : undefined;
    const env: Record<string, string> = guest
      ? {
          GUEST_KERNEL: guest.kernelPath,
          GUEST_INITRD: guest.initrdPath,
          GUEST_APPEND: guest.append,
          GUEST_PASSWORD: guest.credentials.password,
        }
      : {};
    for (const example of examples) {
      const file = join(project!.path, `readme-${example.line}.mjs`);
      await writeFile(file, toJavaScript(example.code));
      const result = await run("node", [file], { cwd: project!.path, env, timeoutMs: 300_000 });
      expect(result.exitCode, `README.md:${example.line}\n${describeFailure(result)}`).toBe(0);
    }
  });
});

describe("the qemu-kvm command, installed alone", () => {
  let project: TempDir | undefined;

  beforeAll(async () => {
    project = await makeTempDir("qk-blank-cli-");
    await installAlone(project.path, "qemu-kvm", packed!.tarballs);
  });

  afterAll(async () => {
    await project?.remove();
  });

  const command = (...args: string[]) =>
    run(join(project!.path, "node_modules", ".bin", "qemu-kvm"), args, {
      cwd: project!.path,
      timeoutMs: 60_000,
    });

  test("its bin runs in plain Node: --help lists the verbs, argv prints a boot line", async () => {
    const help = await command("--help");
    expect(help.exitCode, describeFailure(help)).toBe(0);
    for (const verb of ["start", "ps", "exec", "console", "monitor", "stop", "argv", "demo"])
      expect(help.stdout).toContain(verb);
    const spec = join(project!.path, "vm0.json");
    await writeFile(
      spec,
      JSON.stringify({ name: "vm0", accelerator: "tcg", memory: { sizeMiB: 128 } }),
    );
    const argv = await command("argv", spec);
    expect(argv.exitCode, describeFailure(argv)).toBe(0);
    expect(argv.stdout).toMatch(/^qemu-system-x86_64 -name vm0 /);
  });

  test("demo says it needs the repository's test guest (ERR_VM_DEMO), and a bad verb is a usage error", async () => {
    const demo = await command("demo");
    expect(demo.exitCode, describeFailure(demo)).toBe(1);
    expect(demo.stderr).toContain("ERR_VM_DEMO");
    const bad = await command("strat");
    expect(bad.exitCode, describeFailure(bad)).toBe(2);
    expect(bad.stderr).toContain("ERR_INVALID_ARGUMENT");
  });
});
