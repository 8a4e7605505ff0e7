import { createLocalHost } from "@qemu-kvm/host";
import { describe, expect, test } from "vitest";
import { createVm } from "../../src/index.js";
import { resolveVmOptions } from "../../src/vm/options.js";

const host = createLocalHost();

describe("createVm checks everything before anything runs", () => {
  test("a VM from a spec: defaults", () => {
    const vm = createVm({ host, spec: { name: "vm0" } });
    expect(vm.name).toBe("vm0");
    expect(vm.state).toBe("created");
    const resolved = resolveVmOptions({ host, spec: { name: "vm0" } });
    expect(resolved).toMatchObject({
      control: "serial-unix",
      login: { user: "root" },
      bootTimeoutMs: 120_000,
      network: {},
      bootFiles: "host",
    });
  });

  test.each([
    [{ host, spec: { name: "bad name" } }, "options.spec.name"],
    [{ host, spec: { name: "vm0" }, control: "ssh" }, "options.control"],
    [{ host, spec: { name: "vm0" }, bootTimeoutMs: -1 }, "options.bootTimeoutMs"],
    [{ host, spec: { name: "vm0" }, colour: "red" }, "options.colour"],
    [{ host, spec: { name: "vm0" }, login: { user: "root", pass: "x" } }, "options.login.pass"],
    [{ host: {}, spec: { name: "vm0" } }, "options.host"],
    [{ host }, "options.spec"],
    [{ host, spec: { name: "vm0" }, runtimeBase: "relative/dir" }, "options.runtimeBase"],
    [{ host, spec: { name: "vm0" }, bootFiles: "upload" }, "options.bootFiles"],
  ])("%j is refused, naming %s", (options, field) => {
    expect(() => createVm(options as never)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field }),
    );
  });

  test("a DTS section brings its control channel, login and boot deadline", () => {
    const resolved = resolveVmOptions({
      host,
      dts: {
        section: "vm0",
        spec: { name: "vm0" },
        control: "telnet",
        login: { user: "tester", password: "secret" },
        start: { bootTimeoutMs: 30_000 },
        emulators: [],
        notes: [],
      },
    });
    expect(resolved).toMatchObject({
      control: "serial-telnet",
      login: { user: "tester", password: "secret" },
      bootTimeoutMs: 30_000,
    });
  });

  test("stop() of a VM that never started does nothing and says so", async () => {
    const vm = createVm({ host, spec: { name: "vm0" } });
    await expect(vm.stop()).resolves.toEqual({ stage: "not-running", durationMs: 0, stages: [] });
    expect(vm.state).toBe("created");
  });

  test("exec before start is ERR_VM_STATE", () => {
    const vm = createVm({ host, spec: { name: "vm0" } });
    expect(() => vm.exec("true")).toThrow(expect.objectContaining({ code: "ERR_VM_STATE" }));
  });
});
