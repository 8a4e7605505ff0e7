import { describe, expect, test } from "vitest";
import { guestQemuArgs, InvalidGuestOptionError } from "../../src/index.js";

const files = {
  kernelPath: "/cache/vmlinux",
  compressedKernelPath: "/cache/vmlinuz",
  initrdPath: "/cache/initrd.img",
  append: "console=ttyS0",
};

/** The value after each occurrence of `flag`. */
const values = (argv: string[], flag: string) =>
  argv.flatMap((arg, i) => (arg === flag ? [argv[i + 1]!] : []));

describe("guestQemuArgs", () => {
  test("defaults: TCG, q35, 256 MiB, the vmlinux, no defaults, rng, virtio-net", () => {
    const argv = guestQemuArgs(files);
    expect(argv).toEqual([
      "-accel",
      "tcg",
      "-machine",
      "q35",
      "-m",
      "256",
      "-smp",
      "1",
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      "-kernel",
      "/cache/vmlinux",
      "-initrd",
      "/cache/initrd.img",
      "-append",
      "console=ttyS0",
      "-device",
      "virtio-rng-pci",
      "-netdev",
      "user,id=net0",
      "-device",
      "virtio-net-pci,netdev=net0,romfile=",
    ]);
  });

  test("e1000 gets autonegotiation=off; host forwards bind 127.0.0.1 by default", () => {
    const argv = guestQemuArgs(files, {
      nic: "e1000",
      machine: { type: "pc" },
      hostForwards: [
        { hostPort: 10022, guestPort: 22 },
        { hostPort: 8080, guestPort: 80, hostAddress: "0.0.0.0", protocol: "udp" },
      ],
    });
    expect(values(argv, "-machine")).toEqual(["pc"]);
    expect(values(argv, "-append")).toEqual(["console=ttyS0 pci=noacpi"]);
    expect(values(argv, "-netdev")).toEqual([
      "user,id=net0,hostfwd=tcp:127.0.0.1:10022-:22,hostfwd=udp:0.0.0.0:8080-:80",
    ]);
    expect(values(argv, "-device")).toContain("e1000,netdev=net0,autonegotiation=off,romfile=");
  });

  test("machine type, memory size and CPU count in bootline's words", () => {
    const argv = guestQemuArgs(files, {
      machine: { type: "pc" },
      memory: { sizeMiB: 512 },
      cpu: { count: 2 },
    });
    expect(values(argv, "-machine")).toEqual(["pc"]);
    expect(values(argv, "-m")).toEqual(["512"]);
    expect(values(argv, "-smp")).toEqual(["2"]);
  });

  test("no NIC at all", () => {
    const argv = guestQemuArgs(files, { nic: "none" });
    expect(argv).not.toContain("-netdev");
    expect(() =>
      guestQemuArgs(files, { nic: "none", hostForwards: [{ hostPort: 1, guestPort: 22 }] }),
    ).toThrow(InvalidGuestOptionError);
  });

  test("serial on a unix socket (commas escaped, log file) or on telnet", () => {
    const unix = guestQemuArgs(files, {
      serial: {
        type: "unix",
        path: "/run/a,b/serial.sock",
        log: { path: "/log/x,y.log" },
        wait: true,
      },
    });
    expect(values(unix, "-chardev")).toEqual([
      "socket,id=serial0,path=/run/a,,b/serial.sock,server=on,wait=on,logfile=/log/x,,y.log",
    ]);
    expect(values(unix, "-serial")).toEqual(["chardev:serial0"]);
    const telnet = guestQemuArgs(files, { serial: { type: "telnet", port: 4555 } });
    expect(values(telnet, "-chardev")).toEqual([
      "socket,id=serial0,host=127.0.0.1,port=4555,telnet=on,server=on,wait=off",
    ]);
  });

  test("guest agent on virtio-serial and QMP on unix sockets", () => {
    const argv = guestQemuArgs(files, {
      guestAgent: { path: "/r/qga.sock" },
      qmp: { path: "/r/qmp.sock" },
    });
    expect(values(argv, "-chardev")).toEqual([
      "socket,id=qmp0,path=/r/qmp.sock,server=on,wait=off",
      "socket,id=qga0,path=/r/qga.sock,server=on,wait=off",
    ]);
    expect(values(argv, "-mon")).toEqual(["chardev=qmp0,mode=control"]);
    expect(values(argv, "-device")).toEqual(
      expect.arrayContaining([
        "virtio-serial-pci,id=virtio-serial0",
        "virtserialport,bus=virtio-serial0.0,chardev=qga0,name=org.qemu.guest_agent.0",
      ]),
    );
  });

  test("the compressed kernel, -no-reboot and extra kernel arguments", () => {
    const argv = guestQemuArgs(files, {
      kernel: "vmlinuz",
      noReboot: true,
      extraAppend: "loglevel=8",
    });
    expect(values(argv, "-kernel")).toEqual(["/cache/vmlinuz"]);
    expect(argv).toContain("-no-reboot");
    expect(values(argv, "-append")).toEqual(["console=ttyS0 loglevel=8"]);
  });

  test.each([
    [{ serial: { type: "unix" as const, path: `/${"x".repeat(107)}` } }, "serial.path"],
    [{ serial: { type: "unix" as const, path: "/s", log: { path: "" } } }, "serial.log.path"],
    [{ serial: { type: "tcp" as "telnet", port: 23 } }, "serial.type"],
    [{ qmp: { path: "" } }, "qmp.path"],
    [{ guestAgent: { path: "/a\0b" } }, "guestAgent.path"],
    [{ serial: { type: "telnet" as const, port: 70000 } }, "serial.port"],
    [{ serial: { type: "telnet" as const, port: 23, host: "localhost" } }, "serial.host"],
    [{ hostForwards: [{ hostPort: 0, guestPort: 22 }] }, "hostForwards[0].hostPort"],
    [
      { hostForwards: [{ hostPort: 2222, guestPort: 22, hostAddress: "1.2.3" }] },
      "hostForwards[0].hostAddress",
    ],
    [{ memory: { sizeMiB: 64 } }, "memory.sizeMiB"],
    [{ cpu: { count: 1.5 } }, "cpu.count"],
    [{ machine: { type: "microvm" as "pc" } }, "machine.type"],
    [{ nic: "rtl8139" as "e1000" }, "nic"],
  ])("rejects %j at %s, synchronously", (options, option) => {
    let error: unknown;
    try {
      guestQemuArgs(files, options);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidGuestOptionError);
    expect((error as InvalidGuestOptionError).code).toBe("ERR_INVALID_OPTION");
    expect((error as InvalidGuestOptionError).option).toBe(option);
  });

  test("a socket path of exactly 107 bytes is accepted", () => {
    expect(() => guestQemuArgs(files, { qmp: { path: `/${"x".repeat(106)}` } })).not.toThrow();
  });
});
