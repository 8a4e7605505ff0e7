import { describe, expect, test } from "vitest";
import {
  hostForwardPorts,
  optionValue,
  relocate,
  type VmTemplate,
} from "../../src/benchmarks/vm/argv.js";

const DIR = "/tmp/qk-x/rt/vms/vm-single";
const TEMPLATE: VmTemplate = {
  argv: [
    "qemu-system-x86_64",
    "-name",
    "vm-single",
    "-pidfile",
    `${DIR}/qemu.pid`,
    "-daemonize",
    "-chardev",
    `socket,id=char-qmp,path=${DIR}/qmp.sock,server=on,wait=off`,
    "-chardev",
    `socket,id=char-serial0,path=${DIR}/serial.sock,server=on,wait=off,logfile=${DIR}/serial.log`,
    "-kernel",
    "/cache/vmlinux",
    "-netdev",
    "user,id=net0,hostfwd=tcp:127.0.0.1:6001-:22,hostfwd=udp::6002-:53",
  ],
  runtimeDir: DIR,
  qmpPath: `${DIR}/qmp.sock`,
  serialPath: `${DIR}/serial.sock`,
};

describe("hostForwardPorts and optionValue", () => {
  test("every forwarded host port, in order, also several in one -netdev", () => {
    expect(hostForwardPorts(TEMPLATE.argv)).toEqual([6001, 6002]);
    expect(hostForwardPorts(["qemu", "-netdev", "user,id=n"])).toEqual([]);
  });
  test("the value after an option, or undefined", () => {
    expect(optionValue(TEMPLATE.argv, "-pidfile")).toBe(`${DIR}/qemu.pid`);
    expect(optionValue(TEMPLATE.argv, "-incoming")).toBeUndefined();
  });
});

describe("relocate", () => {
  const moved = relocate(TEMPLATE, { runtimeDir: "/tmp/b/vm3", hostPorts: [40001, 40002] });

  test("every file of the runtime directory moves; nothing else changes", () => {
    expect(moved.argv).toEqual([
      "qemu-system-x86_64",
      "-name",
      "vm-single",
      "-pidfile",
      "/tmp/b/vm3/qemu.pid",
      "-daemonize",
      "-chardev",
      "socket,id=char-qmp,path=/tmp/b/vm3/qmp.sock,server=on,wait=off",
      "-chardev",
      "socket,id=char-serial0,path=/tmp/b/vm3/serial.sock,server=on,wait=off,logfile=/tmp/b/vm3/serial.log",
      "-kernel",
      "/cache/vmlinux",
      "-netdev",
      "user,id=net0,hostfwd=tcp:127.0.0.1:40001-:22,hostfwd=udp::40002-:53",
    ]);
    expect(moved.runtimeDir).toBe("/tmp/b/vm3");
    expect(moved.qmpPath).toBe("/tmp/b/vm3/qmp.sock");
    expect(moved.serialPath).toBe("/tmp/b/vm3/serial.sock");
  });

  test("the template itself is left as it was", () => {
    expect(TEMPLATE.argv[4]).toBe(`${DIR}/qemu.pid`);
    expect(hostForwardPorts(TEMPLATE.argv)).toEqual([6001, 6002]);
  });

  test("a sibling directory whose name starts the same is not touched", () => {
    const template = { ...TEMPLATE, argv: [...TEMPLATE.argv, "-drive", `file=${DIR}0/disk.img`] };
    const result = relocate(template, { runtimeDir: "/tmp/b/vm4", hostPorts: [1, 2] });
    expect(result.argv.at(-1)).toBe(`file=${DIR}0/disk.img`);
  });

  test("refuses what would not run the same VM", () => {
    expect(() => relocate(TEMPLATE, { runtimeDir: "/tmp/b/vm5", hostPorts: [40001] })).toThrow(
      /forwards 2 host ports, 1 were given/,
    );
    expect(() => relocate(TEMPLATE, { runtimeDir: "/tmp/a,b", hostPorts: [1, 2] })).toThrow(
      /comma/,
    );
    const elsewhere = { ...TEMPLATE, runtimeDir: "/somewhere/else" };
    expect(() => relocate(elsewhere, { runtimeDir: "/tmp/b/vm6", hostPorts: [1, 2] })).toThrow(
      /names no file in \/somewhere\/else/,
    );
  });
});
