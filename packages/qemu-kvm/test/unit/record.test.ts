import { describe, expect, test } from "vitest";
import { formatRecord, parseRecord, type VmRecord } from "../../src/runtime/record.js";

const record: VmRecord = {
  format: "qemu-kvm-vm",
  version: 1,
  name: "vm0",
  uuid: "5a1c6a3e-4f0e-4b61-9d0c-1f0e1b2c3d4e",
  pid: 4242,
  startTime: "981234",
  argv: ["qemu-system-x86_64", "-name", "vm0"],
  runtimeDir: "/run/qemu-kvm/vms/vm0",
  qmpPath: "/run/qemu-kvm/vms/vm0/qmp.sock",
  control: "serial-unix",
  console: { type: "unix", path: "/run/qemu-kvm/vms/vm0/serial.sock" },
  ssh: { host: "127.0.0.1", port: 6000 },
  mode: "boot",
  createdAt: "2026-12-02T00:00:00.000Z",
  createdBy: { machine: "ctl", pid: 7 },
};

describe("the VM record", () => {
  test("round-trips", () => {
    expect(parseRecord(formatRecord(record), "/x/vm.json")).toEqual(record);
  });

  test.each([
    ["not JSON", "{", "not JSON"],
    ["another format", JSON.stringify({ ...record, format: "other" }), "format"],
    ["a newer version", JSON.stringify({ ...record, version: 2 }), "version 2"],
    ["a bad name", JSON.stringify({ ...record, name: "../etc" }), "name"],
    ["a bad pid", JSON.stringify({ ...record, pid: -1 }), "pid"],
    ["a relative path", JSON.stringify({ ...record, qmpPath: "qmp.sock" }), "qmpPath"],
    ["a bad control", JSON.stringify({ ...record, control: "rsh" }), "control"],
    ["a huge file", " ".repeat(300 * 1024), "256 KiB"],
  ])("%s is refused with ERR_VM_RUNTIME", (_what, text, reason) => {
    expect(() => parseRecord(text, "/x/vm.json")).toThrow(
      expect.objectContaining({ code: "ERR_VM_RUNTIME", message: expect.stringContaining(reason) }),
    );
  });
});
