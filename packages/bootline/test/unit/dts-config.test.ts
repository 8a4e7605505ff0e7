import {
  buildArgs,
  type DtsVm,
  dtsSections,
  dtsVmSections,
  readDtsConfig,
  unassignedPorts,
} from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { parseIni } from "../../src/dts/ini.js";
import { corpusFiles, globals, readCorpus, withPorts } from "../helpers/dts.js";
import { dtsError, invalidArgument, optionValue, optionValues } from "../helpers/spec.js";

/** One VM from config text, without the [KVM] defaults unless given. */
function vm(
  text: string,
  options: Parameters<typeof readDtsConfig>[2] = {},
  defaults?: string,
): DtsVm {
  const vms = readDtsConfig(text, defaults, {
    runtimeDir: "/run/qk/vm0",
    hugepagePath: "/dev/hugepages",
    ...options,
  });
  expect(vms.size).toBe(1);
  return [...vms.values()][0]!;
}

describe("INI dialect (Python configparser as DTS used it)", () => {
  test("continuation lines, comments, lower-cased keys, both delimiters, DEFAULT", () => {
    const document = parseIni(
      [
        "# comment",
        "[DEFAULT]",
        "shared = yes",
        "[vm0]",
        "CPU =",
        "    model=host;",
        "  # an indented comment inside the value",
        "",
        "    number=2;",
        "mem: size=1024",
        "[vm1]",
        "shared = no",
      ].join("\n"),
    );
    expect(document.errors).toEqual([]);
    const [vm0, vm1] = document.sections;
    expect(vm0!.name).toBe("vm0");
    expect([...vm0!.options.keys()]).toEqual(["shared", "cpu", "mem"]);
    expect(vm0!.options.get("cpu")).toEqual({ value: "\nmodel=host;\n\nnumber=2;", line: 5 });
    expect(vm0!.options.get("mem")!.value).toBe("size=1024");
    expect(vm1!.options.get("shared")!.value).toBe("no");
  });

  test("interpolation: %% and %(name)s, and its errors", () => {
    const document = parseIni(
      "[vm0]\nbase = /img\ndisk = file=%(base)s/a.img;\npct = 100%%\nbad = 5%\n",
    );
    const options = document.sections[0]!.options;
    expect(options.get("disk")!.value).toBe("file=/img/a.img;");
    expect(options.get("pct")!.value).toBe("100%");
    expect(options.has("bad")).toBe(false);
    expect(document.errors).toEqual([
      { line: 5, message: "[vm0] bad: '%' must be followed by '%' or '(name)s'" },
    ]);
  });

  test("interpolation that multiplies is bounded: an error at its line, never a RangeError", () => {
    // Each level repeats the one below 8 times: 64 × 8¹⁰ characters, more than any string
    // can hold. Unbounded, this threw "RangeError: Invalid string length".
    const lines = ["[vm0]", `a0 = ${"x".repeat(64)}`];
    for (let level = 1; level <= 10; level++)
      lines.push(`a${level} = ${`%(a${level - 1})s`.repeat(8)}`);
    lines.push("name = name=%(a10)s;");
    const document = parseIni(lines.join("\n"));
    expect(document.sections[0]!.options.get("a4")!.value).toHaveLength(64 * 8 ** 4);
    expect(document.sections[0]!.options.has("a5")).toBe(false);
    expect(document.errors).toContainEqual({
      line: 13,
      message: "[vm0] name: interpolation makes a value longer than 1000000 characters",
    });
    const error = dtsError(() => readDtsConfig(lines.join("\n")));
    expect(error.issues).toContainEqual({
      line: 7,
      message: "[vm0] a5: interpolation makes a value longer than 1000000 characters",
    });
  });

  test("interpolation nests at most 10 deep, and a loop is an error", () => {
    const chain = ["[vm0]", "r0 = end"];
    for (let level = 1; level <= 12; level++) chain.push(`r${level} = %(r${level - 1})s`);
    const document = parseIni(chain.join("\n"));
    expect(document.sections[0]!.options.get("r11")!.value).toBe("end");
    expect(document.errors).toEqual([
      { line: 14, message: "[vm0] r12: interpolation nests too deep" },
    ]);
    expect(parseIni("[vm0]\na = %(b)s\nb = %(a)s\n").errors).toEqual([
      { line: 2, message: "[vm0] a: interpolation nests too deep" },
      { line: 3, message: "[vm0] b: interpolation nests too deep" },
    ]);
  });

  test("syntax errors carry their line: no header, duplicates, a line that is no option", () => {
    const document = parseIni("cpu = x\n[vm0]\ncpu = a\nCPU = b\njunk\n[vm0]\n");
    expect(document.errors).toEqual([
      { line: 1, message: "an option before any [section] header" },
      { line: 4, message: "option cpu appears twice in [vm0]" },
      { line: 5, message: '"junk" is neither "key = value" nor a [section]' },
      { line: 6, message: "section [vm0] appears twice" },
    ]);
  });
});

describe("readDtsConfig: keys and sub-options", () => {
  test("QEMUKvm's built-in defaults apply under everything", () => {
    const { spec, notes, control } = vm("[vm0]\ndisk = file=/img/a.img;\n");
    expect(spec).toEqual({
      name: "vm0",
      runtimeDir: "/run/qk/vm0",
      accelerator: "kvm",
      daemonize: true,
      pidfile: {},
      drives: [{ path: "/img/a.img" }],
      nets: [
        {
          type: "user",
          model: "e1000",
          hostForwards: [{ hostAddress: "127.0.0.1", hostPort: "auto", guestPort: 22 }],
        },
      ],
      monitor: {},
      serial: { type: "telnet", host: "127.0.0.1", port: "auto" },
      display: { type: "vnc", host: "127.0.0.1", display: "auto" },
    });
    expect(control).toBe("telnet");
    expect(notes.map((note) => note.key)).toEqual(["net"]);
  });

  test("[KVM] defaults of virt_global.cfg merge under the section; the section's keys win whole", () => {
    const merged = vm("[vm0]\ncpu = number=2,cpupin=7 8;\nvnc = displayNum=3;\n", {}, globals);
    expect(merged.spec.cpu).toEqual({ count: 2, hostCpus: [7, 8] }); // no model: the whole key is replaced
    expect(merged.spec.memory).toEqual({ sizeMiB: 2048 });
    expect(merged.spec.display).toEqual({ type: "vnc", host: "127.0.0.1", display: 3 });
    expect(merged.spec.guestAgent).toEqual({});
    expect(merged.spec.serial).toBeUndefined();
    expect(merged.control).toBe("qga");
    expect(merged.start).toEqual({
      bootTimeoutMs: 120_000,
      loginTimeoutMs: 60_000,
      loginPrompt: "login:",
      passwordPrompt: "Password:",
    });
    expect(merged.guestDriver).toEqual({ name: "vfio-pci", mode: "noiommu" });
    const inherited = vm("[vm0]\ndisk = file=/a;\n", {}, globals);
    expect(inherited.spec.cpu).toEqual({ model: "host", count: 4, hostCpus: [3, 4, 5, 6] });
    expect(inherited.spec.display).toEqual({ type: "vnc", host: "127.0.0.1", display: "auto" });
  });

  test("name, enable_kvm, machine, pid_file, daemon", () => {
    const { spec } = vm(
      "[vm0]\nname = name=guest1;\nenable_kvm = enable=no;\nmachine = machine=virt,opt_gic_version=3;\npid_file = name=/run/vm.pid;\ndaemon = enable=no;\n",
    );
    expect(spec).toMatchObject({
      name: "guest1",
      accelerator: "tcg",
      machine: { type: "virt", gicVersion: "3" },
      pidfile: { path: "/run/vm.pid" },
    });
    expect(spec.daemonize).toBeUndefined();
    expect(optionValue(buildArgs(withPorts(spec)), "-machine")).toBe("virt,gic-version=3");
  });

  test("cpu, mem with hugepages", () => {
    const { spec } = vm(
      "[vm0]\ncpu = model=host,number=8,cpupin=5 6 7 8 9 10 11 12 ;\nmem = size=4096,hugepage=yes;\n",
    );
    expect(spec.cpu).toEqual({ model: "host", count: 8, hostCpus: [5, 6, 7, 8, 9, 10, 11, 12] });
    expect(spec.memory).toEqual({
      sizeMiB: 4096,
      backend: { type: "file", path: "/dev/hugepages", share: true, prealloc: true },
    });
    const args = buildArgs(withPorts(spec));
    expect(optionValue(args, "-object")).toBe(
      "memory-backend-file,id=mem0,size=4096M,mem-path=/dev/hugepages,share=on,prealloc=on",
    );
    expect(optionValue(args, "-numa")).toBe("node,memdev=mem0");
  });

  test("disk with every sub-option, several disks, a trailing comma", () => {
    const { spec } = vm(
      "[vm0]\ndisk =\n    file=/storage/vm0.img,opt_format=qcow2,opt_if=virtio,opt_index=0,opt_media=disk;\n    file=/home/osimg/centos7-6.img,;\n",
    );
    expect(spec.drives).toEqual([
      { path: "/storage/vm0.img", format: "qcow2", interface: "virtio", index: 0, media: "disk" },
      { path: "/home/osimg/centos7-6.img" },
    ]);
  });

  test("pflash, kernel, login, start", () => {
    const result = vm(
      "[vm0]\npflash =\n  file=/fw/code.fd;\n  file=/fw/vars.fd;\nkernel = kernel_img=/boot/Image,console=ttyAMA0,baudrate=115200,root=/dev/vda2;\nlogin = user=root,password=tester;\nstart = wait_seconds=200;\n",
    );
    expect(result.spec.pflash).toEqual([{ path: "/fw/code.fd" }, { path: "/fw/vars.fd" }]);
    expect(result.spec.kernel).toEqual({
      path: "/boot/Image",
      console: { device: "ttyAMA0", baudRate: 115200 },
      root: "/dev/vda2",
    });
    expect(result.login).toEqual({ user: "root", password: "tester" });
    expect(result.start).toEqual({ bootTimeoutMs: 200_000 });
    expect(optionValue(buildArgs(withPorts(result.spec)), "-append")).toBe(
      "console=ttyAMA0,115200 root=/dev/vda2",
    );
  });

  test("net: NICs pair with their neighbouring backend by position (nic,user or user,nic), not by parity ids", () => {
    const { spec, notes } = vm(
      "[vm0]\nnet =\n   type=user,opt_vlan=2;\n   type=nic,opt_vlan=2;\n   type=nic,opt_model=virtio,opt_macaddr=52:54:00:00:00:02;\n   type=user,opt_hostfwd=tcp:10.0.0.1:6001-:22;\n",
    );
    expect(spec.nets).toEqual([
      {
        type: "user",
        model: "e1000",
        hostForwards: [
          { protocol: "tcp", hostAddress: "127.0.0.1", hostPort: "auto", guestPort: 22 },
        ],
      },
      {
        type: "user",
        model: "virtio-net-pci",
        mac: "52:54:00:00:00:02",
        hostForwards: [{ protocol: "tcp", hostAddress: "10.0.0.1", hostPort: 6001, guestPort: 22 }],
      },
    ]);
    expect(notes.map((note) => note.message).join("\n")).toMatch(/opt_vlan ignored/);
    expect(notes.map((note) => note.message).join("\n")).toMatch(
      /opt_model=virtio mapped to virtio-net-pci/,
    );
    const devices = optionValues(buildArgs(withPorts(spec)), "-device");
    expect(devices).toEqual([
      "e1000,netdev=net0,id=nic0",
      "virtio-net-pci,netdev=net1,id=nic1,mac=52:54:00:00:00:02",
    ]);
  });

  test("net: tap with a bridge uses QEMU's bridge helper; tap with a script; bridge", () => {
    const { spec } = vm(
      "[vm0]\nnet =\n  type=nic;\n  type=tap,opt_br=br1;\n  type=nic,opt_model=e1000e;\n  type=tap,opt_script=/etc/qk-ifup,opt_downscript=/etc/qk-ifdown;\n  type=bridge;\n  type=nic;\n",
    );
    expect(spec.nets).toEqual([
      { type: "bridge", bridge: "br1", model: "e1000" },
      { type: "tap", script: "/etc/qk-ifup", downscript: "/etc/qk-ifdown", model: "e1000e" },
      { type: "bridge", bridge: "br0", model: "e1000" },
    ]);
  });

  test("device: vfio-pci and pci-assign passthrough, vhost-user and vhost-cuse NICs", () => {
    const { spec } = vm(
      "[vm0]\nmem = size=1024,hugepage=yes;\ndevice =\n  driver=vfio-pci,opt_host=08:00.0,opt_addr=0x10;\n  driver=pci-assign,prop_host=08:00.1;\n  driver=vhost-user,opt_path=/tmp/vhost-net,opt_server=server,opt_queue=2,opt_mac=00:00:20:00:00:01,opt_settings=mrg_rxbuf=off,opt_legacy=on;\n  driver=vhost-cuse,opt_tap=dut0,opt_mac=52:54:00:00:00:09;\n",
    );
    expect(spec.passthrough).toEqual([
      { host: "08:00.0", driver: "vfio-pci", pciAddress: "0x10" },
      { host: "08:00.1", driver: "pci-assign" },
    ]);
    expect(spec.nets!.slice(1)).toEqual([
      {
        type: "vhost-user",
        model: "virtio-net-pci",
        socketPath: "/tmp/vhost-net",
        server: true,
        queues: 2,
        mac: "00:00:20:00:00:01",
        disableModern: true,
        deviceProperties: { mrg_rxbuf: "off" },
      },
      {
        type: "tap",
        ifname: "tap_dut0",
        vhost: true,
        model: "virtio-net-pci",
        mac: "52:54:00:00:00:09",
      },
    ]);
    const args = buildArgs(withPorts(spec));
    expect(optionValues(args, "-device")).toContain("vfio-pci,host=0000:08:00.0,id=pt0,addr=10.0");
    expect(optionValues(args, "-netdev")).toContain(
      "vhost-user,id=net1,chardev=char-net1,vhostforce=on,queues=2",
    );
  });

  test("monitor: path, and the shipped `port=` (an HMP socket in runtimeDir, with a note)", () => {
    expect(vm("[vm0]\nmonitor = path=/run/m.sock;\n").spec.monitor).toEqual({
      path: "/run/m.sock",
    });
    const shipped = vm("[vm0]\nmonitor = \n    port=;\n");
    expect(shipped.spec.monitor).toEqual({});
    expect(shipped.notes.find((note) => note.key === "monitor")!.message).toMatch(/update_status/);
    expect(vm("[vm0]\nmonitor =\n").spec.monitor).toBeUndefined();
    expect(vm("[vm0]\nnet =\ndisk = file=/a;\n").spec.nets).toBeUndefined();
    expect(optionValues(buildArgs(withPorts(shipped.spec)), "-chardev")).toContain(
      "socket,id=char-monitor,path=/run/qk/vm0/monitor.sock,server=on,wait=off",
    );
  });

  test("migration, control (telnet with a port, socket), qga, vnc (disable, displayNumber), usercmd, crypto, qemu", () => {
    const result = vm(
      "[vm0]\nmigration = enable=yes,port=4444;\ncontrol = type=telnet,port=7010;\nqga = enable=yes;\nvnc = displayNumber=2;\nusercmd = cmd=-rtc base=utc -no-reboot;\nmem = size=512,hugepage=yes;\ncrypto = enable=yes,opt_num=2;\nqemu =\n  path=/opt/qemu-7.2/bin/qemu-system-x86_64;\n",
    );
    expect(result.spec).toMatchObject({
      incoming: { host: "127.0.0.1", port: 4444 },
      serial: { type: "telnet", host: "127.0.0.1", port: 7010 },
      guestAgent: {},
      display: { type: "vnc", host: "127.0.0.1", display: 2 },
      extraArgs: ["-rtc", "base=utc", "-no-reboot"],
      crypto: [{ backend: "vhost-user" }, { backend: "vhost-user" }],
      emulator: "/opt/qemu-7.2/bin/qemu-system-x86_64",
    });
    expect(result.control).toBe("telnet");
    expect(vm("[vm0]\ncontrol = type=socket;\n").spec.serial).toEqual({ type: "unix" });
    expect(vm("[vm0]\nvnc = disable=True;\n").spec.display).toEqual({ type: "none" });
    expect(vm("[vm0]\nmigration = enable=yes;\n").spec.incoming).toEqual({
      host: "127.0.0.1",
      port: "auto",
    });
    expect(vm("[vm0]\nmigration = enable=no;\n").spec.incoming).toBeUndefined();
  });

  test("several qemu paths: all listed, none chosen", () => {
    const result = vm(readCorpus("pvp_diff_qemu_version.cfg"), { sections: ["vm0"] }, globals);
    expect(result.emulators).toHaveLength(5);
    expect(result.emulators[4]).toBe("/home/QEMU/qemu-7.2.0/bin/qemu-system-x86_64");
    expect(result.spec.emulator).toBeUndefined();
  });

  test("listenAddress replaces 127.0.0.1 where DTS bound the DUT or every interface", () => {
    const { spec } = vm("[vm0]\ncontrol = type=telnet;\n", { listenAddress: "192.0.2.10" });
    expect(spec.serial).toEqual({ type: "telnet", host: "192.0.2.10", port: "auto" });
    expect(unassignedPorts(spec).map((request) => request.host)).toEqual([
      "192.0.2.10",
      "192.0.2.10",
      "192.0.2.10",
    ]);
    const error = invalidArgument(
      () => readDtsConfig("[vm0]\ndisk = file=/a;\n", undefined, { listenAddress: "dut" }),
      "options.listenAddress",
    );
    expect(error.message).toMatch(/listenAddress must be an IP address/);
  });
});

describe("readDtsConfig: what cannot map is an error naming the key and why", () => {
  const rejected: [string, string, string, RegExp][] = [
    ["libvirt os", "os = loader=/fw.fd;", "os", /libvirt-only/],
    ["libvirt serial_port", "serial_port = type=pty;", "serial_port", /libvirt-only/],
    ["Xen vif", "vif = mac=random,bridge=br0", "vif", /Xen-only/],
    ["scene dev_gen", "dev_gen = pf_idx=0,vf_num=1;", "dev_gen", /virt_scene-only/],
    ["scene cpu numa", "cpu = model=host,number=4,numa=auto;", "cpu", /numa is virt_scene-only/],
    ["scene device", "device = vf_idx=0,pf_dev=0,guestpci=auto;", "device", /virt_scene-only/],
    ["libvirt disk bus", "disk = file=/a,opt_bus=virtio;", "disk", /opt_bus is libvirt-only/],
    ["unknown key", "memory = size=1024;", "memory", /not a DTS VM key/],
    ["unknown sub-key", "mem = size=1024,huge=yes;", "mem", /"huge" is not a sub-option of mem/],
    [
      "netdev on a nic",
      "net = type=nic,netdev=net1;type=user;",
      "net",
      /netdev is not a sub-option of type=nic/,
    ],
    [
      "two nics in a row",
      "net = type=nic;type=nic;type=user;type=user;",
      "net",
      /not one nic and one/,
    ],
    ["a lone nic", "net = type=user;type=nic;type=nic;", "net", /no partner/],
    ["net type", "net = type=vde;type=nic;", "net", /type=vde/],
    ["bad hostfwd", "net = type=nic;type=user,opt_hostfwd=tcp:6001:22;", "net", /opt_hostfwd/],
    ["hugepages without a path", "mem = size=1024,hugepage=yes;", "mem", /hugepagePath/],
    ["mem without size", "mem = hugepage=no;", "mem", /size= \(MiB\) is missing/],
    ["mem size not a number", "mem = size=2G;", "mem", /size=2G/],
    ["cpupin not a list", "cpu = cpupin=a b;", "cpu", /cpupin=a b/],
    ["cpu number zero", "cpu = number=0;", "cpu", /number=0/],
    ["vnc disable true", "vnc = disable=true;", "vnc", /True or False/],
    ["daemon maybe", "daemon = enable=maybe;", "daemon", /yes or no/],
    ["control type", "control = type=ssh;", "control", /type=ssh/],
    ["monitor TCP port", "monitor = port=6061;", "monitor", /port=6061/],
    ["virt_type LIBVIRT", "virt_type = LIBVIRT", "virt_type", /not QEMU\/KVM/],
    ["usercmd with shell syntax", "usercmd = cmd=-name $(id);", "usercmd", /shell syntax/],
    [
      "virtio-net-pci device",
      "device = driver=virtio-net-pci,opt_netdev=mynet1;",
      "device",
      /outside the config/,
    ],
    ["unknown driver", "device = driver=e1000;", "device", /driver=e1000/],
    ["vfio without host", "device = driver=vfio-pci,opt_addr=0x3;", "device", /opt_host/],
    [
      "vhost-user without shared memory",
      "device = driver=vhost-user,opt_path=/tmp/v;",
      "device",
      /shared/,
    ],
    [
      "a bad PCI address, checked by the spec",
      "device = driver=vfio-pci,opt_host=zz:00.0;",
      "device",
      /passthrough\[0\]\.host/,
    ],
    [
      "a bad MAC, checked by the spec",
      "net = type=nic,opt_macaddr=01:00:00:00:00:01;type=user;",
      "net",
      /multicast/,
    ],
    ["a socket path too long", `monitor = path=/${"x".repeat(120)};`, "monitor", /107 bytes/],
    ["a sub-key twice", "cpu = number=2,number=4;", "cpu", /number is given twice/],
    ["name with several entries", "name = name=a;name=b;", "name", /one is expected/],
  ];

  test.each(rejected)("%s", (_what, line, key, message) => {
    const error = dtsError(() =>
      // `login` after the line under test makes the section a VM section (one without any VM key is not one).
      readDtsConfig(`# a comment\n[vm0]\n${line}\nlogin = user=root;\n`, undefined, {
        file: "suite.cfg",
        runtimeDir: "/run/qk",
      }),
    );
    const issue = error.issues.find((candidate) => candidate.key === key);
    expect(issue, JSON.stringify(error.issues)).toBeDefined();
    expect(issue).toMatchObject({ file: "suite.cfg", section: "vm0", line: 3 });
    expect(issue!.message).toMatch(message);
    expect(error.message).toContain(`suite.cfg line 3 [vm0] ${key}:`);
  });

  test("collects the problems of every section read", () => {
    const error = dtsError(() =>
      readDtsConfig(
        "[vm0]\ndisk = file=/a;\nmemory = size=1;\n[vm1]\nvif = mac=random;\nos = loader=/x;\n[vm2]\ndisk = file=/a;\n",
      ),
    );
    expect(error.issues.map((issue) => `${issue.section}.${issue.key}`)).toEqual([
      "vm0.memory",
      "vm1.os",
      "vm1.vif",
    ]);
  });

  test("a problem in a [KVM] default names virt_global.cfg", () => {
    const error = dtsError(() =>
      readDtsConfig("[vm0]\ndisk = file=/a;\n", "[KVM]\ncpu = number=x;\n"),
    );
    expect(error.issues).toEqual([
      {
        file: "virt_global.cfg",
        section: "KVM",
        key: "cpu",
        line: 2,
        message: "number=x is not an integer 1–1024",
      },
    ]);
  });

  test("sections: read a subset; unknown, non-VM and hypervisor-defaults sections are errors", () => {
    const text = "[suite]\nx = 1\n[vm0]\ndisk = file=/a;\n[vm1]\nvif = mac=random;\n";
    expect([...readDtsConfig(text, undefined, { sections: ["vm0"] }).keys()]).toEqual(["vm0"]);
    const error = dtsError(() => readDtsConfig(text, undefined, { sections: ["suite", "vm9"] }));
    expect(error.issues.map((issue) => issue.message)).toEqual([
      "holds no VM keys (it is not a VM section)",
      "no such section",
    ]);
    const global = dtsError(() =>
      readDtsConfig(globals, undefined, { sections: ["KVM", "LIBVIRT", "XEN"] }),
    );
    expect(global.issues.map((issue) => issue.message)).toEqual([
      "holds the KVM defaults of virt_global.cfg, not a VM: pass this file as `defaults`",
      "holds libvirt defaults: only QEMU/KVM VMs map onto a QEMU spec",
      "holds Xen defaults: only QEMU/KVM VMs map onto a QEMU spec",
    ]);
  });

  test("defaults without [KVM], and INI syntax errors, are errors too", () => {
    expect(
      dtsError(() => readDtsConfig("[vm0]\ndisk = file=/a;\n", "[XEN]\ncpu = number=1;\n")).issues,
    ).toEqual([{ file: "virt_global.cfg", message: "has no [KVM] section" }]);
    expect(dtsError(() => readDtsConfig("disk = file=/a;\n[vm0]\n")).issues[0]).toEqual({
      line: 1,
      message: "an option before any [section] header",
    });
  });
});

/** The outcome of every VM section of the corpus: a spec, or the keys it is rejected for. */
const expected: Record<string, Record<string, "spec" | string[]>> = {
  "basic_4k_pages_cbdma.cfg": { vm0: "spec", vm1: "spec" },
  "ddp_gtp.cfg": { vm0: "spec" },
  "ddp_mpls.cfg": { vm0: "spec" },
  "dpdk_vf_passthrough.cfg": { vm0: ["cpu", "device", "dev_gen"] },
  "kernelpf_iavf.cfg": { vm0: "spec" },
  "pf_passthrough.cfg": { vm: ["cpu", "device"] },
  "port_control.cfg": { vm0: ["net"] },
  "power_bidirection_channel.cfg": { vm0: "spec" },
  "power_branch_ratio.cfg": { vm0: "spec" },
  "power_negative.cfg": { vm0: "spec" },
  "pvp_diff_qemu_version.cfg": { vm0: "spec" },
  "pvp_qemu_multi_paths_port_restart.cfg": { vm0: "spec" },
  "shutdown_api.cfg": { vm0: "spec", vm1: "spec" },
  "sriov_kvm.cfg": { vm0: "spec", vm1: "spec", vm2: "spec", vm3: "spec" },
  "vf_daemon.cfg": { vm0: "spec", vm1: "spec" },
  "vf_jumboframe.cfg": { vm0: "spec" },
  "vf_macfilter.cfg": { vm0: "spec" },
  "vf_offload.cfg": { vm0: "spec" },
  "vf_packet_rxtx.cfg": { vm0: "spec", vm1: "spec" },
  "vf_passthrough.cfg": { vm0: ["cpu", "device", "dev_gen"] },
  "vf_passthrough_1.cfg": { vm0: ["cpu", "device", "dev_gen"] },
  "vf_pf_reset.cfg": { vm0: "spec", vm1: "spec" },
  "vf_port_start_stop.cfg": { vm0: "spec" },
  "vf_rss.cfg": { vm0: "spec" },
  "vf_to_vf_bridge.cfg": { vm0: "spec", vm1: "spec" },
  "vf_vlan.cfg": { vm0: "spec" },
  "vhost_cuse_sample.cfg": { vm0: "spec" },
  "vhost_event_idx_interrupt.cfg": { vm0: "spec", vm1: "spec" },
  "vhost_sample.cfg": { vm0: "spec" },
  "vhost_user_live_migration.cfg": { host: "spec", backup: "spec" },
  "virt_global.cfg": { LIBVIRT: ["(section)"], KVM: ["(section)"], XEN: ["(section)"] },
  "virtio_iperf.cfg": { vm0: "spec", vm1: "spec" },
  "virtio_ipsec_cryptodev_func.cfg": { vm0: "spec", vm1: "spec" },
  "virtio_perf_cryptodev_func.cfg": { vm0: "spec" },
  "virtio_pvp_regression.cfg": { vm0: "spec" },
  "virtio_unit_cryptodev_func.cfg": { vm0: "spec" },
  "vm_power_manager.cfg": { vm0: "spec" },
  "vm_pw_mgmt_policy.cfg": { vm0: "spec" },
};

describe("the DTS corpus: 38 files, 53 VM sections, each a spec or rejected with its keys", () => {
  const files = corpusFiles();

  test("holds the 38 files and 53 VM sections its README lists, using 18 keys", () => {
    expect(files).toEqual(Object.keys(expected).sort());
    const sections = files.flatMap((file) =>
      dtsSections(readCorpus(file)).filter((section) => section.kind !== "other"),
    );
    expect(sections).toHaveLength(53);
    const keys = new Set<string>();
    for (const file of files) {
      const vmSections = new Set(
        dtsSections(readCorpus(file))
          .filter((section) => section.kind !== "other")
          .map((section) => section.name),
      );
      for (const section of parseIni(readCorpus(file)).sections)
        if (vmSections.has(section.name)) for (const key of section.options.keys()) keys.add(key);
    }
    expect([...keys].sort()).toEqual(
      [
        "control",
        "cpu",
        "crypto",
        "daemon",
        "def_driver",
        "dev_gen",
        "device",
        "disk",
        "login",
        "mem",
        "migration",
        "monitor",
        "net",
        "qemu",
        "qga",
        "start",
        "vif",
        "vnc",
      ].sort(),
    );
  });

  test.each(files)("%s", (file) => {
    const text = readCorpus(file);
    const sections = dtsSections(text).filter((section) => section.kind !== "other");
    expect(Object.fromEntries(sections.map((section) => [section.name, true]))).toEqual(
      Object.fromEntries(Object.keys(expected[file]!).map((name) => [name, true])),
    );
    for (const { name } of sections) {
      const outcome = expected[file]![name]!;
      const options = {
        file,
        sections: [name],
        hugepagePath: "/dev/hugepages",
        runtimeDir: `/run/qk/${name}`,
      };
      if (outcome === "spec") {
        const result = readDtsConfig(text, globals, options).get(name)!;
        expect(result.section).toBe(name);
        expect(result.spec.name).toBe(name);
        // Everything DTS allocated is left to the caller, and then it builds.
        const args = buildArgs(withPorts(result.spec));
        expect(args.slice(0, 2)).toEqual(["-name", name]);
        expect(result.login).toEqual({ user: "root", password: "tester" });
        expect(result.control).toBe("qga");
      } else {
        const error = dtsError(() => readDtsConfig(text, globals, options));
        const keys = [...new Set(error.issues.map((issue) => issue.key ?? "(section)"))];
        expect(keys.sort(), JSON.stringify(error.issues)).toEqual([...outcome].sort());
        for (const issue of error.issues) {
          expect(issue.file).toBe(file);
          expect(issue.section).toBe(name);
          expect(issue.message.length).toBeGreaterThan(20);
        }
      }
    }
  });

  test("dtsVmSections lists the VM sections only", () => {
    expect(dtsVmSections(readCorpus("virtio_perf_cryptodev_func.cfg"))).toEqual(["vm0"]);
    expect(dtsVmSections(readCorpus("vhost_user_live_migration.cfg"))).toEqual(["host", "backup"]);
    expect(dtsVmSections(globals)).toEqual([]);
    expect(dtsSections(readCorpus("dpdk_vf_passthrough.cfg"))).toEqual([
      { name: "scene", kind: "other" },
      { name: "vm0", kind: "vm" },
    ]);
  });

  test("kernelpf_iavf [vm0]: the full boot line, every listener on 127.0.0.1", () => {
    const result = readDtsConfig(readCorpus("kernelpf_iavf.cfg"), globals, {
      runtimeDir: "/run/qk/vm0",
      hugepagePath: "/dev/hugepages",
    }).get("vm0")!;
    const args = buildArgs(withPorts(result.spec));
    expect(args).toEqual([
      "-name",
      "vm0",
      "-accel",
      "kvm",
      "-nodefaults",
      "-cpu",
      "host",
      "-smp",
      "8",
      "-m",
      "2048M",
      "-pidfile",
      "/run/qk/vm0/qemu.pid",
      "-daemonize",
      "-chardev",
      "socket,id=char-monitor,path=/run/qk/vm0/monitor.sock,server=on,wait=off",
      "-mon",
      "chardev=char-monitor,mode=readline",
      "-vnc",
      "127.0.0.1:1",
      "-vga",
      "std",
      "-drive",
      "file.filename=/home/image/fedora23-ok.img,id=drive0",
      "-netdev",
      "user,id=net0,hostfwd=tcp:127.0.0.1:6000-:22",
      "-device",
      "e1000,netdev=net0,id=nic0",
      "-chardev",
      "socket,id=char-qga0,path=/run/qk/vm0/qga.sock,server=on,wait=off",
      "-device",
      "virtio-serial-pci,id=virtio-serial0",
      "-device",
      "virtserialport,bus=virtio-serial0.0,chardev=char-qga0,name=org.qemu.guest_agent.0,id=qga0",
    ]);
    expect(result.spec.cpu!.hostCpus).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(result.notes.map((note) => note.message)).toEqual([
      "entry 1: opt_vlan ignored: QEMU dropped VLANs (hubs) in 3.0 and QEMUKvm never emitted it",
      "entry 2: opt_vlan ignored: QEMU dropped VLANs (hubs) in 3.0 and QEMUKvm never emitted it",
      "entry 2: host forward binds 127.0.0.1, not the DUT's IP as in DTS (listenAddress option)",
      "port= (documented: a monitor on a free port) gives an HMP socket in runtimeDir; QEMUKvm read no port, ran without a monitor and failed in update_status",
    ]);
  });

  test("vhost_user_live_migration [backup]: waits for a migration on 127.0.0.1:4444", () => {
    const vms = readDtsConfig(readCorpus("vhost_user_live_migration.cfg"), globals, {
      runtimeDir: "/run/qk/x",
      hugepagePath: "/mnt/huge",
    });
    expect(vms.get("backup")!.spec.incoming).toEqual({ host: "127.0.0.1", port: 4444 });
    expect(vms.get("host")!.spec.incoming).toBeUndefined();
  });

  test("virtio_ipsec_cryptodev_func: two vhost-user crypto devices per VM on shared hugepage memory", () => {
    const vm0 = readDtsConfig(readCorpus("virtio_ipsec_cryptodev_func.cfg"), globals, {
      runtimeDir: "/run/qk/vm0",
      hugepagePath: "/dev/hugepages",
    }).get("vm0")!;
    const args = buildArgs(withPorts(vm0.spec));
    expect(optionValues(args, "-object")).toEqual([
      "memory-backend-file,id=mem0,size=4096M,mem-path=/dev/hugepages,share=on,prealloc=on",
      "cryptodev-vhost-user,id=cryptodev0,chardev=char-crypto0",
      "cryptodev-vhost-user,id=cryptodev1,chardev=char-crypto1",
    ]);
    expect(vm0.start).toEqual({ bootTimeoutMs: 200_000 });
    expect(vm0.emulators).toEqual(["/opt/qemu-2.12.0/bin/qemu-system-x86_64"]);
  });

  test("sriov_kvm [vm2]: the tap on br0 goes through QEMU's bridge helper", () => {
    const vm2 = readDtsConfig(readCorpus("sriov_kvm.cfg"), globals, {
      sections: ["vm2"],
      runtimeDir: "/run/qk/vm2",
    }).get("vm2")!;
    expect(vm2.spec.nets).toEqual([{ type: "bridge", bridge: "br0", model: "e1000" }]);
    expect(optionValue(buildArgs(withPorts(vm2.spec)), "-netdev")).toBe("bridge,id=net0,br=br0");
  });
});
