import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { SpecSource } from "../../src/cli/invocation.js";
import { loginOf } from "../../src/cli/login.js";
import { loadSpec } from "../../src/cli/spec-file.js";

const dir = mkdtempSync(join(tmpdir(), "qk-cli-spec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function source(path: string, extra: Partial<SpecSource> = {}): SpecSource {
  return {
    file: path,
    section: undefined,
    name: undefined,
    emulator: undefined,
    control: undefined,
    ...extra,
  };
}

const DTS = `
[vm0]
cpu = model=host,number=2;
mem = size=2048;
login = user=tester,password=secret;
control = type=qga;

[vm1]
cpu = model=host,number=1;
mem = size=1024;
`;

describe("spec files", () => {
  test("JSON and YAML hold one VmSpec; --name and --emulator amend it", async () => {
    const json = file("vm.json", JSON.stringify({ name: "vm0", memory: { sizeMiB: 512 } }));
    const yaml = file("vm.yml", "name: vm0\nmemory:\n  sizeMiB: 512\n");
    for (const path of [json, yaml])
      expect(await loadSpec(source(path), "start")).toEqual({
        spec: { name: "vm0", memory: { sizeMiB: 512 } },
        dts: undefined,
      });
    expect(
      (await loadSpec(source(yaml, { name: "vm7", emulator: "/opt/qemu" }), "start")).spec,
    ).toEqual({ name: "vm7", memory: { sizeMiB: 512 }, emulator: "/opt/qemu" });
  });

  test("a DTS config: the section named, with its login and control channel", async () => {
    const cfg = file("vms.cfg", DTS);
    const loaded = await loadSpec(source(cfg, { section: "vm0" }), "start");
    expect(loaded.spec).toMatchObject({ name: "vm0", memory: { sizeMiB: 2048 } });
    expect(loaded.dts).toMatchObject({
      section: "vm0",
      control: "qga",
      login: { user: "tester", password: "secret" },
    });
  });

  test("a DTS config with one VM section needs no --section", async () => {
    const cfg = file("one.cfg", "[web]\nmem = size=512;\n");
    expect((await loadSpec(source(cfg), "argv")).spec.name).toBe("web");
  });

  test.each([
    ["vm.txt", "{}", {}, "ends in .json, .yaml, .yml or .cfg"],
    ["bad.json", "{ name: vm0 }", {}, "is not JSON"],
    ["bad.yaml", "name: [", {}, "is not YAML"],
    ["list.json", "[1]", {}, "one VM spec"],
    ["nameless.json", "{}", {}, "has no name"],
    ["sectioned.json", '{"name":"a"}', { section: "vm0" }, "--section is for DTS configs"],
    ["two.cfg", DTS, {}, "2 VM sections (vm0, vm1): choose one with --section"],
    ["none.cfg", "[suite]\nx = 1\n", {}, "has no VM section"],
  ])("%s is refused: %s", async (name, text, extra, message) => {
    const error = await loadSpec(source(file(name, text), extra), "start").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: "FILE", verb: "start" });
    expect((error as Error).message).toContain(message);
  });

  test("a missing file, and one too large to be a spec", async () => {
    await expect(loadSpec(source(join(dir, "nope.json")), "argv")).rejects.toMatchObject({
      field: "FILE",
      message: expect.stringContaining("cannot be read"),
    });
    const huge = file("huge.json", `{"name":"x","pad":"${"x".repeat(1 << 20)}"}`);
    await expect(loadSpec(source(huge), "argv")).rejects.toMatchObject({
      message: expect.stringContaining("larger than"),
    });
  });

  test("a section DTS cannot map is bootline's ERR_BOOTLINE_DTS_CONFIG", async () => {
    const cfg = file("libvirt.cfg", "[vm0]\nvirt_type = type=LIBVIRT;\nmem = size=1;\n");
    await expect(loadSpec(source(cfg), "start")).rejects.toMatchObject({
      code: "ERR_BOOTLINE_DTS_CONFIG",
    });
  });
});

describe("the login never comes from argv", () => {
  test("the password file's first line, else QEMU_KVM_PASSWORD, else nothing (left to DTS, then none)", async () => {
    const secret = file("pw", "s3cret\nignored\n");
    expect(await loginOf({ user: "me", passwordFile: secret }, {}, "exec")).toEqual({
      user: "me",
      password: "s3cret",
    });
    expect(
      await loginOf(
        { user: undefined, passwordFile: undefined },
        { QEMU_KVM_PASSWORD: "env" },
        "exec",
      ),
    ).toEqual({ password: "env" });
    expect(await loginOf({ user: undefined, passwordFile: undefined }, {}, "exec")).toEqual({});
  });

  test("an unreadable password file is a usage error naming --password-file", async () => {
    await expect(
      loginOf({ user: undefined, passwordFile: join(dir, "missing") }, {}, "stop"),
    ).rejects.toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: "--password-file" });
  });
});
