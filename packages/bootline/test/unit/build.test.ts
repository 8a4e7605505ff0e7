import { buildArgs, buildCommand, pinnedCommand } from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { invalidArgument, optionValue, optionValues, spec } from "../helpers/spec.js";

describe("buildArgs: defaults", () => {
  test("a minimal spec gives name, KVM, no default devices and no display", () => {
    expect(buildArgs({ name: "vm0" })).toEqual([
      "-name",
      "vm0",
      "-accel",
      "kvm",
      "-nodefaults",
      "-display",
      "none",
    ]);
  });

  test("is deterministic: the same spec gives the same argv, and argv is a fresh array", () => {
    const input = spec({
      qmp: {},
      nets: [{ type: "user", hostForwards: [{ hostPort: 6001, guestPort: 22 }] }],
    });
    const first = buildArgs(input);
    const second = buildArgs(structuredClone(input));
    expect(second).toEqual(first);
    first.push("-S");
    expect(buildArgs(input)).toEqual(second);
  });

  test("does not modify the spec", () => {
    const input = spec({ nets: [{ type: "user", hostForwards: ["tcp::6001-:22"] }], qmp: {} });
    const copy = structuredClone(input);
    buildArgs(input);
    expect(input).toEqual(copy);
  });
});

describe("buildArgs: machine, accelerator, processes", () => {
  test("machine type, GIC version and extra properties", () => {
    const args = buildArgs(
      spec({
        machine: {
          type: "virt",
          gicVersion: "3",
          properties: { "kernel-irqchip": "split", iommu: true },
        },
      }),
    );
    expect(optionValue(args, "-machine")).toBe("virt,gic-version=3,kernel-irqchip=split,iommu=on");
  });

  test("machine properties without a type", () => {
    expect(
      optionValue(buildArgs(spec({ machine: { properties: { usb: false } } })), "-machine"),
    ).toBe("usb=off");
  });

  test("an empty machine object adds nothing", () => {
    expect(optionValues(buildArgs(spec({ machine: {} })), "-machine")).toEqual([]);
  });

  test.each(["kvm", "tcg", "hvf", "whpx", "xen"] as const)("accelerator %s", (accelerator) => {
    expect(optionValue(buildArgs(spec({ accelerator })), "-accel")).toBe(accelerator);
  });

  test("defaultDevices keeps QEMU's defaults (no -nodefaults)", () => {
    expect(buildArgs(spec({ defaultDevices: true }))).not.toContain("-nodefaults");
    expect(buildArgs(spec({ defaultDevices: false }))).toContain("-nodefaults");
  });

  test("daemonize and pidfile (explicit and derived from runtimeDir)", () => {
    const args = buildArgs(spec({ daemonize: true, pidfile: {} }));
    expect(args).toContain("-daemonize");
    expect(optionValue(args, "-pidfile")).toBe("/run/qk/vm0/qemu.pid");
    expect(
      optionValue(buildArgs(spec({ pidfile: { path: "/var/run/a,b.pid" } })), "-pidfile"),
    ).toBe("/var/run/a,b.pid");
    expect(buildArgs(spec({ daemonize: false }))).not.toContain("-daemonize");
  });

  test("a trailing slash on runtimeDir does not double", () => {
    expect(
      optionValue(buildArgs(spec({ runtimeDir: "/run/qk/vm0/", pidfile: {} })), "-pidfile"),
    ).toBe("/run/qk/vm0/qemu.pid");
  });
});

describe("buildArgs: cpu and memory", () => {
  test("model and count", () => {
    const args = buildArgs(spec({ cpu: { model: "host", count: 4 } }));
    expect(optionValue(args, "-cpu")).toBe("host");
    expect(optionValue(args, "-smp")).toBe("4");
  });

  test("host CPUs do not appear in argv but in buildCommand's taskset wrapper", () => {
    const input = spec({ cpu: { count: 4, hostCpus: [6, 3, 4, 5, 9] } });
    expect(buildArgs(input).join(" ")).not.toContain("taskset");
    const command = buildCommand(input);
    expect(command.file).toBe("taskset");
    expect(command.args.slice(0, 3)).toEqual(["-c", "3-6,9", "qemu-system-x86_64"]);
    expect(command.args.slice(3)).toEqual(buildArgs(input));
  });

  test("buildCommand without pinning runs the emulator directly; emulator and taskset are configurable", () => {
    expect(buildCommand(spec({ emulator: "/opt/qemu 7/bin/qemu-system-x86_64" })).file).toBe(
      "/opt/qemu 7/bin/qemu-system-x86_64",
    );
    const pinned = buildCommand(spec({ cpu: { hostCpus: [1] } }), { taskset: "/usr/bin/taskset" });
    expect(pinned.file).toBe("/usr/bin/taskset");
    expect(pinned.args.slice(0, 2)).toEqual(["-c", "1"]);
  });

  test("pinnedCommand wraps any command and rejects an empty or bad CPU list", () => {
    expect(pinnedCommand({ file: "qemu", args: ["-S", "--", "-x"] }, [0, 2, 1])).toEqual({
      file: "taskset",
      args: ["-c", "0-2", "qemu", "-S", "--", "-x"],
    });
    invalidArgument(() => pinnedCommand({ file: "q", args: [] }, []), "hostCpus");
    invalidArgument(() => pinnedCommand({ file: "q", args: [] }, [1, -1]), "hostCpus[1]");
  });

  test("plain memory", () => {
    const args = buildArgs(spec({ memory: { sizeMiB: 2048 } }));
    expect(optionValue(args, "-m")).toBe("2048M");
    expect(optionValues(args, "-object")).toEqual([]);
    expect(optionValues(args, "-numa")).toEqual([]);
  });

  test("hugepage file backing: shared, preallocated, on a NUMA node", () => {
    const args = buildArgs(
      spec({ memory: { sizeMiB: 4096, backend: { type: "file", path: "/dev/hugepages" } } }),
    );
    expect(optionValue(args, "-m")).toBe("4096M");
    expect(optionValue(args, "-object")).toBe(
      "memory-backend-file,id=mem0,size=4096M,mem-path=/dev/hugepages,share=on,prealloc=on",
    );
    expect(optionValue(args, "-numa")).toBe("node,memdev=mem0");
  });

  test("file backing options and an escaped path", () => {
    const args = buildArgs(
      spec({
        memory: {
          sizeMiB: 64,
          backend: { type: "file", path: "/mnt/huge,1G", share: false, prealloc: false },
        },
      }),
    );
    expect(optionValue(args, "-object")).toBe(
      "memory-backend-file,id=mem0,size=64M,mem-path=/mnt/huge,,1G,share=off,prealloc=off",
    );
  });

  test("memfd backing", () => {
    const args = buildArgs(
      spec({ memory: { sizeMiB: 512, backend: { type: "memfd", hugepages: true } } }),
    );
    expect(optionValue(args, "-object")).toBe(
      "memory-backend-memfd,id=mem0,size=512M,share=on,hugetlb=on,prealloc=off",
    );
    expect(optionValue(args, "-numa")).toBe("node,memdev=mem0");
  });
});

describe("buildArgs: drives, pflash, kernel", () => {
  test("a drive with every sub-option", () => {
    const args = buildArgs(
      spec({
        drives: [
          {
            path: "/img/a.qcow2",
            format: "qcow2",
            interface: "virtio",
            index: 0,
            media: "disk",
            readOnly: true,
            snapshot: true,
            cache: "none",
          },
        ],
      }),
    );
    expect(optionValue(args, "-drive")).toBe(
      "file.filename=/img/a.qcow2,format=qcow2,if=virtio,index=0,media=disk,readonly=on,snapshot=on,cache=none,id=drive0",
    );
  });

  test("index 0 is kept (the reference dropped it: `if opt_index:`)", () => {
    expect(
      optionValue(buildArgs(spec({ drives: [{ path: "/a", index: 0 }] })), "-drive"),
    ).toContain(",index=0,");
  });

  test("several drives get drive0, drive1…; a cdrom", () => {
    const drives = optionValues(
      buildArgs(
        spec({
          drives: [{ path: "/a.img" }, { path: "/b.iso", media: "cdrom", interface: "ide" }],
        }),
      ),
      "-drive",
    );
    expect(drives).toEqual([
      "file.filename=/a.img,id=drive0",
      "file.filename=/b.iso,if=ide,media=cdrom,id=drive1",
    ]);
  });

  test("pflash: code and variables in unit order, raw by default", () => {
    const drives = optionValues(
      buildArgs(
        spec({
          pflash: [
            { path: "/usr/share/OVMF/OVMF_CODE.fd", readOnly: true },
            { path: "/run/qk/vm0/VARS,1.fd", format: "raw" },
          ],
        }),
      ),
      "-drive",
    );
    expect(drives).toEqual([
      "if=pflash,unit=0,format=raw,file.filename=/usr/share/OVMF/OVMF_CODE.fd,readonly=on,id=pflash0",
      "if=pflash,unit=1,format=raw,file.filename=/run/qk/vm0/VARS,,1.fd,id=pflash1",
    ]);
  });

  test("kernel, initrd and the append line built from console, baud rate, root and more", () => {
    const args = buildArgs(
      spec({
        kernel: {
          path: "/boot/vmlinuz,1",
          initrdPath: "/boot/initrd img",
          console: { device: "ttyS0", baudRate: 115200 },
          root: "/dev/vda1",
          append: "quiet panic=-1",
        },
      }),
    );
    // Raw arguments: QEMU does not parse them as option lists, so no comma escaping.
    expect(optionValue(args, "-kernel")).toBe("/boot/vmlinuz,1");
    expect(optionValue(args, "-initrd")).toBe("/boot/initrd img");
    expect(optionValue(args, "-append")).toBe("console=ttyS0,115200 root=/dev/vda1 quiet panic=-1");
  });

  test("kernel alone, console without baud rate", () => {
    const args = buildArgs(spec({ kernel: { path: "/k", console: { device: "hvc0" } } }));
    expect(optionValue(args, "-append")).toBe("console=hvc0");
    expect(optionValues(args, "-initrd")).toEqual([]);
    expect(optionValues(buildArgs(spec({ kernel: { path: "/k" } })), "-append")).toEqual([]);
  });
});

describe("buildArgs: networks", () => {
  test("user networking with forwards (structured and text), defaulting to 127.0.0.1 and tcp", () => {
    const args = buildArgs(
      spec({
        nets: [
          {
            type: "user",
            model: "e1000",
            hostForwards: [
              { hostPort: 6001, guestPort: 22 },
              {
                protocol: "udp",
                hostAddress: "10.0.0.1",
                hostPort: 6002,
                guestAddress: "10.0.2.15",
                guestPort: 53,
              },
              "tcp::6003-:80",
              ":0.0.0.0:6004-10.0.2.16:8080",
            ],
          },
        ],
      }),
    );
    expect(optionValue(args, "-netdev")).toBe(
      "user,id=net0,hostfwd=tcp:127.0.0.1:6001-:22,hostfwd=udp:10.0.0.1:6002-10.0.2.15:53,hostfwd=tcp:127.0.0.1:6003-:80,hostfwd=tcp:0.0.0.0:6004-10.0.2.16:8080",
    );
    expect(optionValue(args, "-device")).toBe("e1000,netdev=net0,id=nic0");
  });

  test("NIC options: mac, bus, slot, disable-modern, extra properties", () => {
    const args = buildArgs(
      spec({
        nets: [
          {
            type: "user",
            model: "virtio-net-pci",
            mac: "52:54:00:AB:cd:01",
            bus: "pci.0",
            pciAddress: "0x3",
            disableModern: true,
            deviceProperties: { csum: false, gso: "off", host_mtu: 9000, romfile: "" },
          },
        ],
      }),
    );
    expect(optionValue(args, "-device")).toBe(
      "virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:ab:cd:01,bus=pci.0,addr=03.0,disable-modern=on,csum=off,gso=off,host_mtu=9000,romfile=",
    );
  });

  test("the default NIC model is virtio-net-pci; other models pass through", () => {
    const devices = optionValues(
      buildArgs(
        spec({
          nets: [
            { type: "user" },
            { type: "user", model: "e1000e" },
            { type: "user", model: "rtl8139" },
            { type: "user", model: "i82551" },
          ],
        }),
      ),
      "-device",
    );
    expect(devices.map((device) => device.split(",")[0])).toEqual([
      "virtio-net-pci",
      "e1000e",
      "rtl8139",
      "i82551",
    ]);
  });

  test("tap: ifname, scripts (none by default), vhost", () => {
    const [first, second] = optionValues(
      buildArgs(
        spec({
          nets: [
            { type: "tap" },
            {
              type: "tap",
              ifname: "tap-vm0",
              script: "/etc/qk/up,1",
              downscript: "/etc/qk/down",
              vhost: true,
            },
          ],
        }),
      ),
      "-netdev",
    );
    expect(first).toBe("tap,id=net0,script=no,downscript=no");
    expect(second).toBe(
      "tap,id=net1,ifname=tap-vm0,script=/etc/qk/up,,1,downscript=/etc/qk/down,vhost=on",
    );
  });

  test("bridge via QEMU's helper", () => {
    const args = buildArgs(
      spec({
        nets: [
          {
            type: "bridge",
            bridge: "br0",
            helper: "/usr/lib/qemu/qemu-bridge-helper",
            model: "e1000",
          },
        ],
      }),
    );
    expect(optionValue(args, "-netdev")).toBe(
      "bridge,id=net0,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper",
    );
    expect(optionValue(args, "-device")).toBe("e1000,netdev=net0,id=nic0");
  });

  const shared = { sizeMiB: 1024, backend: { type: "file" as const, path: "/dev/hugepages" } };

  test("vhost-user: chardev (client), netdev with vhostforce, virtio NIC", () => {
    const args = buildArgs(
      spec({ memory: shared, nets: [{ type: "vhost-user", socketPath: "/run/dpdk/vhost-net0" }] }),
    );
    expect(optionValue(args, "-chardev")).toBe("socket,id=char-net0,path=/run/dpdk/vhost-net0");
    expect(optionValue(args, "-netdev")).toBe("vhost-user,id=net0,chardev=char-net0,vhostforce=on");
    expect(optionValue(args, "-device")).toBe("virtio-net-pci,netdev=net0,id=nic0");
  });

  test("vhost-user: server mode, queues (with mq and vectors), no vhostforce, legacy virtio, escaped path", () => {
    const args = buildArgs(
      spec({
        memory: shared,
        nets: [
          {
            type: "vhost-user",
            socketPath: "/run/dpdk/vhost,net0",
            server: true,
            queues: 4,
            vhostForce: false,
            disableModern: false,
            mac: "00:00:20:00:00:01",
          },
        ],
      }),
    );
    expect(optionValue(args, "-chardev")).toBe(
      "socket,id=char-net0,path=/run/dpdk/vhost,,net0,server=on,wait=off",
    );
    expect(optionValue(args, "-netdev")).toBe("vhost-user,id=net0,chardev=char-net0,queues=4");
    expect(optionValue(args, "-device")).toBe(
      "virtio-net-pci,netdev=net0,id=nic0,mac=00:00:20:00:00:01,disable-modern=off,mq=on,vectors=10",
    );
  });

  test("vhost-user: explicit mq/vectors properties win over the derived ones", () => {
    const args = buildArgs(
      spec({
        memory: shared,
        nets: [
          {
            type: "vhost-user",
            socketPath: "/s",
            queues: 2,
            deviceProperties: { vectors: 8, mrg_rxbuf: false },
          },
        ],
      }),
    );
    expect(optionValue(args, "-device")).toBe(
      "virtio-net-pci,netdev=net0,id=nic0,mq=on,vectors=8,mrg_rxbuf=off",
    );
  });

  test("several networks keep their own ids whatever their order and kind", () => {
    const args = buildArgs(
      spec({
        memory: shared,
        nets: [
          { type: "vhost-user", socketPath: "/s0" },
          { type: "user" },
          { type: "user" },
          { type: "tap" },
        ],
      }),
    );
    expect(optionValues(args, "-netdev").map((netdev) => /id=(\w+)/.exec(netdev)![1])).toEqual([
      "net0",
      "net1",
      "net2",
      "net3",
    ]);
    expect(
      optionValues(args, "-device").map((device) => /netdev=(\w+),id=(\w+)/.exec(device)!.slice(1)),
    ).toEqual([
      ["net0", "nic0"],
      ["net1", "nic1"],
      ["net2", "nic2"],
      ["net3", "nic3"],
    ]);
  });
});

describe("buildArgs: passthrough, monitors, serial, agent, display, migration, crypto, extra", () => {
  test("vfio-pci and legacy pci-assign with normalized host addresses, slots and properties", () => {
    const devices = optionValues(
      buildArgs(
        spec({
          passthrough: [
            { host: "81:00.1", pciAddress: "0x10" },
            { host: "0000:AF:1f.7", driver: "pci-assign", pciAddress: "00:11.0", bus: "pci.0" },
            { host: "0001:02:03.4", deviceProperties: { "x-vga": true, rombar: 0 } },
          ],
        }),
      ),
      "-device",
    );
    expect(devices).toEqual([
      "vfio-pci,host=0000:81:00.1,id=pt0,addr=10.0",
      "pci-assign,host=0000:af:1f.7,id=pt1,bus=pci.0,addr=11.0",
      "vfio-pci,host=0001:02:03.4,id=pt2,x-vga=on,rombar=0",
    ]);
  });

  test("QMP and HMP monitors on unix sockets (derived and explicit paths)", () => {
    const args = buildArgs(spec({ qmp: {}, monitor: { path: "/run/other/hmp,1.sock" } }));
    expect(optionValues(args, "-chardev")).toEqual([
      "socket,id=char-qmp,path=/run/qk/vm0/qmp.sock,server=on,wait=off",
      "socket,id=char-monitor,path=/run/other/hmp,,1.sock,server=on,wait=off",
    ]);
    expect(optionValues(args, "-mon")).toEqual([
      "chardev=char-qmp,mode=control",
      "chardev=char-monitor,mode=readline",
    ]);
  });

  test("serial over telnet binds 127.0.0.1 by default and logs from the first byte", () => {
    const args = buildArgs(spec({ serial: { type: "telnet", port: 7001, log: {} } }));
    expect(optionValue(args, "-chardev")).toBe(
      "socket,id=char-serial0,host=127.0.0.1,port=7001,telnet=on,server=on,wait=off,logfile=/run/qk/vm0/serial.log",
    );
    expect(optionValue(args, "-serial")).toBe("chardev:char-serial0");
  });

  test("serial over raw TCP on a named address, and over a unix socket", () => {
    expect(
      optionValue(
        buildArgs(spec({ serial: { type: "tcp", host: "::1", port: 7002 } })),
        "-chardev",
      ),
    ).toBe("socket,id=char-serial0,host=::1,port=7002,telnet=off,server=on,wait=off");
    const unix = buildArgs(
      spec({ serial: { type: "unix", log: { path: "/var/log/qk/vm0,serial.log" } } }),
    );
    expect(optionValue(unix, "-chardev")).toBe(
      "socket,id=char-serial0,path=/run/qk/vm0/serial.sock,server=on,wait=off,logfile=/var/log/qk/vm0,,serial.log",
    );
    expect(optionValue(unix, "-serial")).toBe("chardev:char-serial0");
  });

  test("guest agent: chardev, virtio-serial, virtserialport org.qemu.guest_agent.0", () => {
    const args = buildArgs(spec({ guestAgent: { pciAddress: "1e" } }));
    expect(optionValue(args, "-chardev")).toBe(
      "socket,id=char-qga0,path=/run/qk/vm0/qga.sock,server=on,wait=off",
    );
    expect(optionValues(args, "-device")).toEqual([
      "virtio-serial-pci,id=virtio-serial0,addr=1e.0",
      "virtserialport,bus=virtio-serial0.0,chardev=char-qga0,name=org.qemu.guest_agent.0,id=qga0",
    ]);
  });

  test("display: none by default; VNC on 127.0.0.1 with a VGA; IPv6 in brackets", () => {
    expect(optionValue(buildArgs(spec()), "-display")).toBe("none");
    expect(optionValue(buildArgs(spec({ display: { type: "none" } })), "-display")).toBe("none");
    const vnc = buildArgs(spec({ display: { type: "vnc", display: 1 } }));
    expect(optionValue(vnc, "-vnc")).toBe("127.0.0.1:1");
    expect(optionValue(vnc, "-vga")).toBe("std");
    expect(optionValues(vnc, "-display")).toEqual([]);
    const v6 = buildArgs(
      spec({ display: { type: "vnc", host: "::1", display: 0, vga: "virtio" } }),
    );
    expect(optionValue(v6, "-vnc")).toBe("[::1]:0");
    expect(optionValue(v6, "-vga")).toBe("virtio");
  });

  test("incoming migration on 127.0.0.1 by default, or the named address", () => {
    expect(optionValue(buildArgs(spec({ incoming: { port: 4444 } })), "-incoming")).toBe(
      "tcp:127.0.0.1:4444",
    );
    expect(
      optionValue(buildArgs(spec({ incoming: { host: "0.0.0.0", port: 4444 } })), "-incoming"),
    ).toBe("tcp:0.0.0.0:4444");
    expect(
      optionValue(buildArgs(spec({ incoming: { host: "fe80::1", port: 4444 } })), "-incoming"),
    ).toBe("tcp:[fe80::1]:4444");
  });

  test("crypto: N vhost-user devices with their sockets, and the built-in backend", () => {
    const args = buildArgs(
      spec({
        memory: { sizeMiB: 1024, backend: { type: "memfd" } },
        crypto: [
          { backend: "vhost-user" },
          { backend: "vhost-user", socketPath: "/run/dpdk/crypto,1.sock", pciAddress: "0a" },
          { backend: "builtin" },
        ],
      }),
    );
    expect(optionValues(args, "-chardev")).toEqual([
      "socket,id=char-crypto0,path=/run/qk/vm0/crypto0.sock",
      "socket,id=char-crypto1,path=/run/dpdk/crypto,,1.sock",
    ]);
    expect(optionValues(args, "-object").slice(1)).toEqual([
      "cryptodev-vhost-user,id=cryptodev0,chardev=char-crypto0",
      "cryptodev-vhost-user,id=cryptodev1,chardev=char-crypto1",
      "cryptodev-backend-builtin,id=cryptodev2",
    ]);
    expect(optionValues(args, "-device")).toEqual([
      "virtio-crypto-pci,id=crypto0,cryptodev=cryptodev0",
      "virtio-crypto-pci,id=crypto1,cryptodev=cryptodev1,addr=0a.0",
      "virtio-crypto-pci,id=crypto2,cryptodev=cryptodev2",
    ]);
  });

  test("extra arguments are appended last, as they are", () => {
    const args = buildArgs(spec({ extraArgs: ["-rtc", "base=utc,clock=host", "-no-reboot"] }));
    expect(args.slice(-3)).toEqual(["-rtc", "base=utc,clock=host", "-no-reboot"]);
  });
});

describe("buildArgs: escaping of hostile values", () => {
  const hostile = [
    "/img/with,comma.img",
    "/img/with space.img",
    "/img/'single' \"double\".img",
    "/img/$(touch pwned)`id`.img",
    "/img/new\nline.img",
    "/img/,,double,,commas,.img",
  ];

  test.each(hostile)(
    "drive file %j is escaped only for QEMU (commas doubled, nothing else)",
    (path) => {
      const drive = optionValue(buildArgs(spec({ drives: [{ path }] })), "-drive");
      expect(drive).toBe(`file.filename=${path.replaceAll(",", ",,")},id=drive0`);
    },
  );

  test("every comma in every option-list value is doubled", () => {
    const path = "/a,b";
    const args = buildArgs(
      spec({
        runtimeDir: "/run/q,k",
        pidfile: {},
        qmp: {},
        monitor: {},
        serial: { type: "unix", log: {} },
        guestAgent: {},
        memory: { sizeMiB: 64, backend: { type: "file", path } },
        drives: [{ path }],
        pflash: [{ path }],
        nets: [
          { type: "tap", script: path, downscript: path },
          { type: "bridge", bridge: "br0", helper: path },
          { type: "vhost-user", socketPath: path },
        ],
        crypto: [{ backend: "vhost-user" }],
      }),
    );
    for (const [index, arg] of args.entries()) {
      const option = args[index - 1];
      if (option === "-pidfile")
        expect(arg).toBe("/run/q,k/qemu.pid"); // raw argument
      else expect(arg.replaceAll(",,", "")).not.toMatch(/a,b|q,k/);
    }
    expect(args.join(" ")).toContain("mem-path=/a,,b");
    expect(args.join(" ")).toContain("path=/run/q,,k/qmp.sock");
  });
});
