import {
  buildArgs,
  buildCommand,
  parseArgs,
  specFacts,
  splitProcCmdline,
  type VmFacts,
  type VmSpec,
} from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";

/** A DTS boot line as QEMUKvm composed it (defaults of virt_global.cfg plus kernelpf_iavf.cfg), as found in /proc/PID/cmdline. */
const dtsCmdline = [
  "qemu-system-x86_64",
  "-name",
  "vm0",
  "-enable-kvm",
  "-pidfile",
  "/tmp/.vm0.pid",
  "-daemonize",
  "-monitor",
  "unix:/tmp/vm0_monitor.sock,server,nowait",
  "-device",
  "e1000,netdev=nttsip1",
  "-netdev",
  "user,id=nttsip1,hostfwd=tcp:10.0.0.1:6001-:22",
  "-cpu",
  "host",
  "-smp",
  "8",
  "-m",
  "2048",
  "-drive",
  "file=/home/image/fedora23-ok.img",
  "-chardev",
  "socket,path=/tmp/vm0_qga0.sock,server,nowait,id=vm0_qga0",
  "-device",
  "virtio-serial",
  "-device",
  "virtserialport,chardev=vm0_qga0,name=org.qemu.guest_agent.0",
  "-vnc",
  ":1",
  "-serial",
  "telnet::7001,server,nowait",
  "-device",
  "vfio-pci,host=08:00.0,id=pt_0,addr=0x10",
  "-device",
  "pci-assign,host=0000:81:02.1,id=pt_1",
  "-incoming",
  "tcp::4444",
].join("\0");

describe("parseArgs: the reference's own boot lines", () => {
  const facts = parseArgs(splitProcCmdline(`${dtsCmdline}\0`));

  test("program, name, pidfile, daemonize", () => {
    expect(facts.file).toBe("qemu-system-x86_64");
    expect(facts.name).toBe("vm0");
    expect(facts.pidfile).toBe("/tmp/.vm0.pid");
    expect(facts.daemonize).toBe(true);
  });

  test("-monitor unix:…,server,nowait is an HMP socket QEMU listens on", () => {
    expect(facts.monitors).toEqual([{ type: "unix", path: "/tmp/vm0_monitor.sock", server: true }]);
    expect(facts.qmp).toEqual([]);
  });

  test("-serial telnet::7001,server,nowait is a telnet console on every interface", () => {
    expect(facts.serials).toEqual([
      { endpoint: { type: "tcp", host: "0.0.0.0", port: 7001, server: true, telnet: true } },
    ]);
  });

  test("hostfwd=tcp:10.0.0.1:6001-:22 is forwarded host port 6001 to guest port 22", () => {
    expect(facts.hostForwards).toEqual([
      {
        netdevId: "nttsip1",
        protocol: "tcp",
        hostAddress: "10.0.0.1",
        hostPort: 6001,
        guestPort: 22,
      },
    ]);
  });

  test("the guest agent socket is the chardev of the org.qemu.guest_agent.0 port", () => {
    expect(facts.guestAgent).toEqual({ type: "unix", path: "/tmp/vm0_qga0.sock", server: true });
  });

  test("-incoming tcp::4444 and -vnc :1 listen on every interface", () => {
    expect(facts.incoming).toEqual({ host: "0.0.0.0", port: 4444 });
    expect(facts.vnc).toEqual({ host: "0.0.0.0", display: 1, port: 5901 });
  });

  test("passthrough ids and host addresses (normalized), with the requested guest slot", () => {
    expect(facts.passthrough).toEqual([
      {
        id: "pt_0",
        driver: "vfio-pci",
        host: "0000:08:00.0",
        slot: "10.0",
        guestAddress: "0000:00:10.0",
      },
      { id: "pt_1", driver: "pci-assign", host: "0000:81:02.1" },
    ]);
  });

  test("every listener and runtime path, derived", () => {
    expect(facts.listeners).toEqual([
      { kind: "forward", protocol: "tcp", host: "10.0.0.1", port: 6001 },
      { kind: "serial", protocol: "tcp", host: "0.0.0.0", port: 7001 },
      { kind: "display", protocol: "tcp", host: "0.0.0.0", port: 5901 },
      { kind: "migration", protocol: "tcp", host: "0.0.0.0", port: 4444 },
    ]);
    expect(facts.runtimePaths).toEqual([
      { kind: "pidfile", path: "/tmp/.vm0.pid", role: "file" },
      { kind: "monitor", path: "/tmp/vm0_monitor.sock", role: "listen" },
      { kind: "guest-agent", path: "/tmp/vm0_qga0.sock", role: "listen" },
    ]);
  });

  test("a unix serial console, other DTS forms, and argv without the program", () => {
    const other = parseArgs([
      "-serial",
      "unix:/tmp/vm0_serial.sock,server,nowait",
      "-netdev",
      "user,id=nttsip1,hostfwd=tcp::6002-:22,hostfwd=udp:127.0.0.1:6003-10.0.2.15:53",
      "-qmp",
      "unix:/tmp/q,,mp.sock,server=on,wait=off",
      "--append",
      "console=ttyS0,115200",
      "-S",
      "-chardev",
      "socket,id=char0,path=/tmp/vhost-net,server",
      "-netdev",
      "type=vhost-user,id=netdev0,chardev=char0,vhostforce,queues=2",
      "-chardev",
      "socket,path=/tmp/vm0_crypto0.sock,id=vm0_crypto0",
      "-object",
      "cryptodev-vhost-user,id=cryptodev0,chardev=vm0_crypto0",
    ]);
    expect(other.file).toBeUndefined();
    expect(other.serials).toEqual([
      { endpoint: { type: "unix", path: "/tmp/vm0_serial.sock", server: true } },
    ]);
    expect(other.hostForwards).toEqual([
      {
        netdevId: "nttsip1",
        protocol: "tcp",
        hostAddress: "0.0.0.0",
        hostPort: 6002,
        guestPort: 22,
      },
      {
        netdevId: "nttsip1",
        protocol: "udp",
        hostAddress: "127.0.0.1",
        hostPort: 6003,
        guestAddress: "10.0.2.15",
        guestPort: 53,
      },
    ]);
    expect(other.qmp).toEqual([{ type: "unix", path: "/tmp/q,mp.sock", server: true }]);
    expect(other.vhostUser).toEqual([
      { id: "netdev0", endpoint: { type: "unix", path: "/tmp/vhost-net", server: true } },
    ]);
    expect(other.crypto).toEqual([
      {
        id: "cryptodev0",
        endpoint: { type: "unix", path: "/tmp/vm0_crypto0.sock", server: false },
      },
    ]);
    expect(other.runtimePaths.map((path) => [path.kind, path.role])).toEqual([
      ["qmp", "listen"],
      ["serial", "listen"],
      ["vhost-user", "listen"],
      ["crypto", "connect"],
    ]);
  });

  test("a taskset prefix gives the program and the host CPUs (list or mask)", () => {
    const list = parseArgs(["taskset", "-c", "5 6 7 8", "qemu-system-x86_64", "-name", "vm1"]);
    expect(list).toMatchObject({ file: "qemu-system-x86_64", hostCpus: [5, 6, 7, 8], name: "vm1" });
    const mask = parseArgs(["/usr/bin/taskset", "0x1e", "/opt/qemu", "-daemonize"]);
    expect(mask).toMatchObject({ file: "/opt/qemu", hostCpus: [1, 2, 3, 4], daemonize: true });
  });

  test("a taskset mask is read in linear time; one naming a CPU above 8191 pins nothing known", () => {
    const at = (mask: string) => parseArgs(["taskset", mask, "qemu", "-S"]).hostCpus;
    expect(at("0x0000100")).toEqual([8]);
    expect(at(`8${"0".repeat(2047)}`)).toEqual([8191]);
    expect(at(`1${"0".repeat(2048)}`)).toBeUndefined(); // CPU 8192
    expect(at("0")).toBeUndefined();
    // 131,072 digits (the most one argument of a command line holds): was 4 s and 524,288 CPUs.
    const started = performance.now();
    expect(at("f".repeat(131_072))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(200);
  });

  test("mon: serial multiplexing, -mon chardevs, -qmp tcp, legacy -net user, JSON -device and -netdev", () => {
    const facts = parseArgs([
      "-serial",
      "mon:unix:/run/s.sock,server=on,wait=off",
      "-chardev",
      "socket,id=m,host=127.0.0.1,port=4000,server=on,wait=off",
      "-mon",
      "m,mode=control",
      "-qmp",
      "tcp:[::1]:4001,server,nowait",
      "-net",
      "user,hostfwd=tcp::2222-:22",
      "-device",
      '{"driver":"vfio-pci","host":"0000:3b:00.2","id":"hostdev0","bus":"pci.0","addr":"0x5"}',
      "-netdev",
      '{"type":"user","id":"u1","hostfwd":[{"str":"tcp:127.0.0.1:2223-:22"}]}',
    ]);
    expect(facts.monitors).toEqual([{ type: "unix", path: "/run/s.sock", server: true }]);
    expect(facts.qmp).toEqual([
      { type: "tcp", host: "::1", port: 4001, server: true, telnet: false },
      { type: "tcp", host: "127.0.0.1", port: 4000, server: true, telnet: false },
    ]);
    expect(facts.hostForwards.map((forward) => [forward.netdevId, forward.hostPort])).toEqual([
      ["u1", 2223],
      [undefined, 2222],
    ]);
    expect(facts.passthrough).toEqual([
      {
        id: "hostdev0",
        driver: "vfio-pci",
        host: "0000:3b:00.2",
        bus: "pci.0",
        slot: "05.0",
        guestAddress: "0000:00:05.0",
      },
    ]);
    expect(facts.listeners.map((listener) => `${listener.kind}:${listener.port}`)).toEqual([
      "forward:2223",
      "forward:2222",
      "qmp:4001",
      "qmp:4000",
    ]);
  });

  test("never throws: odd or truncated argv gives what can be read", () => {
    for (const argv of [
      [],
      ["-name"],
      ["-serial", "pty", "-monitor", "none", "-vnc", "unix:/run/v.sock", "-incoming", "defer"],
      ["-device", "{not json"],
      ["-netdev", "user,hostfwd=garbage"],
      ["-chardev", "socket"],
      ["-serial", "chardev:missing"],
      ["-mon", "chardev=missing"],
      ["-device", "vfio-pci,host=zz"],
    ]) {
      expect(() => parseArgs(argv)).not.toThrow();
    }
    const odd = parseArgs(["-serial", "pty", "-incoming", "defer", "-vnc", "none"]);
    expect(odd.serials).toEqual([{ endpoint: { type: "other", backend: "pty" } }]);
    expect(odd.incoming).toEqual({ uri: "defer" });
    expect(odd.vnc).toBeUndefined();
  });

  test("splitProcCmdline splits on NUL and drops the terminator", () => {
    expect(splitProcCmdline("qemu\0-name\0vm 0\0")).toEqual(["qemu", "-name", "vm 0"]);
    expect(splitProcCmdline("qemu\0-append\0\0")).toEqual(["qemu", "-append", ""]);
    expect(splitProcCmdline("")).toEqual([]);
  });
});

const full: VmSpec = {
  name: "vm-full",
  uuid: "6A1F3C2E-0B7D-4E59-9C1A-2F8E4D6B7A90",
  emulator: "/opt/qemu 7.2/bin/qemu-system-x86_64",
  runtimeDir: "/run/qk/a,b c",
  machine: { type: "q35" },
  accelerator: "kvm",
  daemonize: true,
  paused: true,
  noReboot: true,
  noUserConfig: true,
  pidfile: {},
  cpu: { model: "host", count: 4, hostCpus: [3, 4, 5, 6] },
  memory: { sizeMiB: 2048, backend: { type: "file", path: "/dev/hugepages" } },
  drives: [
    { path: '/img/o\'neil, "x" $(id).qcow2', format: "qcow2", interface: "virtio" },
    { path: "/iso/a,b.iso", media: "cdrom", snapshot: true },
  ],
  pflash: [{ path: "/fw/CODE.fd", readOnly: true }, { path: "/run/qk/VARS,1.fd" }],
  kernel: { path: "/boot/vmlinuz,1", initrdPath: "/boot/initrd img", append: "quiet" },
  nets: [
    {
      type: "user",
      model: "e1000",
      romfile: "",
      hostForwards: [
        { hostPort: 6001, guestPort: 22 },
        {
          protocol: "udp",
          hostAddress: "0.0.0.0",
          hostPort: 6002,
          guestAddress: "10.0.2.15",
          guestPort: 53,
        },
      ],
    },
    { type: "vhost-user", socketPath: "/run/dpdk/vhost,0.sock", server: true, queues: 2 },
    { type: "vhost-user", socketPath: "/run/dpdk/vhost-1.sock" },
    { type: "user", hostForwards: ["tcp:127.0.0.1:6003-:80"] },
  ],
  passthrough: [
    { host: "81:00.1", pciAddress: "10" },
    { host: "0000:82:00.0", bus: "bridge0", pciAddress: "01.0" },
  ],
  qmp: {},
  monitor: {},
  serial: { type: "telnet", port: 7001, log: {} },
  guestAgent: {},
  display: { type: "vnc", display: 3 },
  incoming: { port: 4444 },
  rng: { source: "/dev/hw,rng", pciAddress: "1d" },
  crypto: [{ backend: "vhost-user" }, { backend: "builtin" }],
};

const variants: [string, VmSpec][] = [
  ["minimal", { name: "vm0" }],
  ["everything", full],
  [
    "unix serial with a log, IPv6 listeners",
    {
      name: "vm1",
      runtimeDir: "/run/qk/vm1",
      serial: { type: "unix", log: {} },
      display: { type: "vnc", host: "::1", display: 0 },
      incoming: { host: "::1", port: 4445 },
    },
  ],
  [
    "the facade's unix sockets: serial, VNC, incoming migration; paused, with entropy",
    {
      name: "vm3",
      uuid: "00000000-0000-4000-8000-0000000000aa",
      runtimeDir: "/run/qk/a,b",
      paused: true,
      serial: { type: "unix", log: {} },
      display: { type: "vnc", socket: "unix" },
      incoming: { type: "unix" },
      rng: {},
      nets: [{ type: "user", romfile: "/usr/share/qemu/a,b.rom" }],
    },
  ],
  [
    "raw TCP serial on every interface",
    {
      name: "vm2",
      serial: { type: "tcp", host: "0.0.0.0", port: 7002 },
      qmp: { path: "/run/qmp,2.sock" },
    },
  ],
];

describe("round trip: parseArgs(buildArgs(spec)) recovers every fact of the spec", () => {
  test.each(variants)("%s", (_name, input) => {
    const expected: VmFacts = specFacts(input);
    expect(parseArgs(buildArgs(input))).toEqual(expected);
    const command = buildCommand(input);
    expect(parseArgs([command.file, ...command.args])).toEqual({
      file: input.emulator ?? "qemu-system-x86_64",
      ...(input.cpu?.hostCpus ? { hostCpus: [...input.cpu.hostCpus].sort((a, b) => a - b) } : {}),
      ...expected,
    });
  });

  test("the facts of the full spec are what a facade needs", () => {
    const facts = specFacts(full);
    expect(facts.name).toBe("vm-full");
    expect(facts.pidfile).toBe("/run/qk/a,b c/qemu.pid");
    expect(facts.qmp).toEqual([{ type: "unix", path: "/run/qk/a,b c/qmp.sock", server: true }]);
    expect(facts.serials).toEqual([
      {
        endpoint: { type: "tcp", host: "127.0.0.1", port: 7001, server: true, telnet: true },
        logPath: "/run/qk/a,b c/serial.log",
      },
    ]);
    expect(facts.listeners).toEqual([
      { kind: "forward", protocol: "tcp", host: "127.0.0.1", port: 6001 },
      { kind: "forward", protocol: "udp", host: "0.0.0.0", port: 6002 },
      { kind: "forward", protocol: "tcp", host: "127.0.0.1", port: 6003 },
      { kind: "serial", protocol: "tcp", host: "127.0.0.1", port: 7001 },
      { kind: "display", protocol: "tcp", host: "127.0.0.1", port: 5903 },
      { kind: "migration", protocol: "tcp", host: "127.0.0.1", port: 4444 },
    ]);
    expect(facts.runtimePaths).toEqual([
      { kind: "pidfile", path: "/run/qk/a,b c/qemu.pid", role: "file" },
      { kind: "qmp", path: "/run/qk/a,b c/qmp.sock", role: "listen" },
      { kind: "monitor", path: "/run/qk/a,b c/monitor.sock", role: "listen" },
      { kind: "serial-log", path: "/run/qk/a,b c/serial.log", role: "file" },
      { kind: "guest-agent", path: "/run/qk/a,b c/qga.sock", role: "listen" },
      { kind: "vhost-user", path: "/run/dpdk/vhost,0.sock", role: "listen" },
      { kind: "vhost-user", path: "/run/dpdk/vhost-1.sock", role: "connect" },
      { kind: "crypto", path: "/run/qk/a,b c/crypto0.sock", role: "connect" },
    ]);
    expect(facts.passthrough).toEqual([
      {
        id: "pt0",
        driver: "vfio-pci",
        host: "0000:81:00.1",
        slot: "10.0",
        guestAddress: "0000:00:10.0",
      },
      { id: "pt1", driver: "vfio-pci", host: "0000:82:00.0", bus: "bridge0", slot: "01.0" },
    ]);
  });
});
