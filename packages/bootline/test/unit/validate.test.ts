import {
  buildArgs,
  InvalidSpecError,
  specIssues,
  type VmSpec,
  validateSpec,
} from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { invalid } from "../helpers/spec.js";

const shared = { sizeMiB: 1024, backend: { type: "file", path: "/dev/hugepages" } };
const long = `/run/${"x".repeat(100)}`;

/** [what, spec fields (over name + runtimeDir), the field path reported, words of the message or expectation]. */
const badSpecs: [string, Record<string, unknown>, string, RegExp][] = [
  ["name missing", { name: undefined }, "name", /missing/],
  ["name with a space", { name: "vm 0" }, "name", /not valid/],
  ["name with a comma", { name: "vm,0" }, "name", /not valid/],
  ["name too long", { name: "v".repeat(64) }, "name", /not valid/],
  ["name not a string", { name: 7 }, "name", /is 7/],
  ["unknown top-level key", { memorySize: 1024 }, "memorySize", /not a known field/],
  ["runtimeDir relative", { runtimeDir: "run/qk", qmp: {} }, "runtimeDir", /not valid/],
  ["accelerator unknown", { accelerator: "qemu" }, "accelerator", /not supported/],
  ["daemonize not boolean", { daemonize: "yes" }, "daemonize", /"yes"/],
  [
    "machine type with a comma",
    { machine: { type: "q35,accel=tcg" } },
    "machine.type",
    /not valid/,
  ],
  [
    "GIC version on x86",
    { machine: { type: "q35", gicVersion: "3" } },
    "machine.gicVersion",
    /Arm/,
  ],
  [
    "GIC version unknown",
    { machine: { type: "virt", gicVersion: "5" } },
    "machine.gicVersion",
    /not supported/,
  ],
  [
    "machine property set by a field",
    { machine: { properties: { accel: "tcg" } } },
    "machine.properties.accel",
    /builder/,
  ],
  ["cpu count zero", { cpu: { count: 0 } }, "cpu.count", /out of range/],
  ["cpu count fractional", { cpu: { count: 1.5 } }, "cpu.count", /1.5/],
  ["cpu model with a space", { cpu: { model: "host cpu" } }, "cpu.model", /not valid/],
  ["host CPU negative", { cpu: { hostCpus: [1, -2] } }, "cpu.hostCpus[1]", /-2/],
  ["host CPU listed twice", { cpu: { hostCpus: [3, 4, 3] } }, "cpu.hostCpus[2]", /twice/],
  ["host CPU list empty", { cpu: { hostCpus: [] } }, "cpu.hostCpus", /empty/],
  ["host CPUs as text", { cpu: { hostCpus: "3 4 5" } }, "cpu.hostCpus", /array/],
  ["memory size missing", { memory: {} }, "memory.sizeMiB", /missing/],
  ["memory size zero", { memory: { sizeMiB: 0 } }, "memory.sizeMiB", /out of range/],
  ["memory size as text", { memory: { sizeMiB: "2G" } }, "memory.sizeMiB", /"2G"/],
  [
    "memory backend type",
    { memory: { sizeMiB: 64, backend: { type: "ram" } } },
    "memory.backend.type",
    /"ram"/,
  ],
  [
    "memory backend relative path",
    { memory: { sizeMiB: 64, backend: { type: "file", path: "huge" } } },
    "memory.backend.path",
    /not valid/,
  ],
  [
    "memory backend unknown key",
    { memory: { sizeMiB: 64, backend: { type: "memfd", path: "/x" } } },
    "memory.backend.path",
    /not a known field/,
  ],
  ["drive without path", { drives: [{ format: "raw" }] }, "drives[0].path", /missing/],
  ["drive empty path", { drives: [{ path: "" }] }, "drives[0].path", /empty/],
  ["drive NUL in path", { drives: [{ path: "/a\u0000b" }] }, "drives[0].path", /NUL/],
  [
    "drive interface unknown",
    { drives: [{ path: "/a", interface: "nvme" }] },
    "drives[0].interface",
    /not supported/,
  ],
  [
    "drive format with a comma",
    { drives: [{ path: "/a", format: "raw,x=y" }] },
    "drives[0].format",
    /not valid/,
  ],
  [
    "drive index clash",
    {
      drives: [
        { path: "/a", interface: "virtio", index: 0 },
        { path: "/b", interface: "virtio", index: 0 },
      ],
    },
    "drives[1].index",
    /already used by drives\[0\]/,
  ],
  [
    "drive unknown key",
    { drives: [{ path: "/a", bus: "scsi" }] },
    "drives[0].bus",
    /not a known field/,
  ],
  ["drives not an array", { drives: { path: "/a" } }, "drives", /array/],
  [
    "kernel append with a newline",
    { kernel: { path: "/k", append: "a\nb" } },
    "kernel.append",
    /not valid/,
  ],
  [
    "kernel root with a space",
    { kernel: { path: "/k", root: "/dev/vda 1" } },
    "kernel.root",
    /not valid/,
  ],
  [
    "kernel console device",
    { kernel: { path: "/k", console: { device: "tty S0" } } },
    "kernel.console.device",
    /not valid/,
  ],
  [
    "kernel console baud rate",
    { kernel: { path: "/k", console: { device: "ttyS0", baudRate: 0 } } },
    "kernel.console.baudRate",
    /out of range/,
  ],
  ["net type unknown", { nets: [{ type: "socket" }] }, "nets[0].type", /"socket"/],
  ["net not an object", { nets: ["user"] }, "nets[0]", /"user"/],
  [
    "net unknown key for its type",
    { nets: [{ type: "user", bridge: "br0" }] },
    "nets[0].bridge",
    /not a known field/,
  ],
  ["NIC model virtio", { nets: [{ type: "user", model: "virtio" }] }, "nets[0].model", /not valid/],
  [
    "MAC malformed",
    { nets: [{ type: "user", mac: "52:54:00:12:34" }] },
    "nets[0].mac",
    /not valid/,
  ],
  [
    "MAC multicast",
    { nets: [{ type: "user", mac: "01:00:5e:00:00:01" }] },
    "nets[0].mac",
    /multicast/,
  ],
  [
    "MAC duplicate",
    {
      nets: [
        { type: "user", mac: "52:54:00:00:00:01" },
        { type: "user", mac: "52:54:00:00:00:01" },
      ],
    },
    "nets[1].mac",
    /nets\[0\]/,
  ],
  [
    "NIC slot malformed",
    { nets: [{ type: "user", pciAddress: "0000:00:20.0" }] },
    "nets[0].pciAddress",
    /not a guest PCI slot/,
  ],
  [
    "NIC slot on a non-root bus in BDF form",
    { nets: [{ type: "user", pciAddress: "01:03.0" }] },
    "nets[0].pciAddress",
    /not a guest PCI slot/,
  ],
  [
    "NIC on the host bridge slot",
    { nets: [{ type: "user", pciAddress: "00.0" }] },
    "nets[0].pciAddress",
    /host bridge/,
  ],
  [
    "two devices on one guest slot",
    {
      nets: [{ type: "user", pciAddress: "05" }],
      passthrough: [{ host: "81:00.0", pciAddress: "0x5.0" }],
    },
    "passthrough[0].pciAddress",
    /nets\[0\]\.pciAddress/,
  ],
  [
    "disableModern on e1000",
    { nets: [{ type: "user", model: "e1000", disableModern: true }] },
    "nets[0].disableModern",
    /virtio/,
  ],
  [
    "device property set by a field",
    { nets: [{ type: "user", deviceProperties: { netdev: "x" } }] },
    "nets[0].deviceProperties.netdev",
    /builder/,
  ],
  [
    "device property name",
    { nets: [{ type: "user", deviceProperties: { "a,b": "x" } }] },
    "nets[0].deviceProperties.a,b",
    /property name/,
  ],
  [
    "device property value",
    { nets: [{ type: "user", deviceProperties: { a: null } }] },
    "nets[0].deviceProperties.a",
    /null/,
  ],
  [
    "host forward port out of range",
    { nets: [{ type: "user", hostForwards: [{ hostPort: 70000, guestPort: 22 }] }] },
    "nets[0].hostForwards[0].hostPort",
    /70000/,
  ],
  [
    "host forward guest port missing",
    { nets: [{ type: "user", hostForwards: [{ hostPort: 6000 }] }] },
    "nets[0].hostForwards[0].guestPort",
    /missing/,
  ],
  [
    "host forward IPv6 host",
    {
      nets: [
        { type: "user", hostForwards: [{ hostAddress: "::1", hostPort: 6000, guestPort: 22 }] },
      ],
    },
    "nets[0].hostForwards[0].hostAddress",
    /not valid/,
  ],
  [
    "host forward text syntax",
    { nets: [{ type: "user", hostForwards: ["tcp:6001:22"] }] },
    "nets[0].hostForwards[0]",
    /not a host forward/,
  ],
  [
    "host forward text bad address",
    { nets: [{ type: "user", hostForwards: ["tcp:300.0.0.1:6001-:22"] }] },
    "nets[0].hostForwards[0]",
    /IPv4/,
  ],
  [
    "host forward text port out of range",
    { nets: [{ type: "user", hostForwards: ["tcp::99999-:22"] }] },
    "nets[0].hostForwards[0]",
    /out of range/,
  ],
  [
    "host forward text without guest port",
    { nets: [{ type: "user", hostForwards: ["tcp::6001-:"] }] },
    "nets[0].hostForwards[0]",
    /guest port/,
  ],
  [
    "host forward unknown protocol",
    { nets: [{ type: "user", hostForwards: [{ protocol: "sctp", hostPort: 1, guestPort: 1 }] }] },
    "nets[0].hostForwards[0].protocol",
    /not supported/,
  ],
  [
    "two forwards on one port",
    { nets: [{ type: "user", hostForwards: ["tcp::6001-:22", "tcp:127.0.0.1:6001-:80"] }] },
    "nets[0].hostForwards[1].hostPort",
    /already used/,
  ],
  [
    "a forward and the serial on one port",
    {
      nets: [{ type: "user", hostForwards: [{ hostPort: 7001, guestPort: 22 }] }],
      serial: { type: "telnet", port: 7001 },
    },
    "serial.port",
    /already used by nets\[0\]/,
  ],
  [
    "VNC port and incoming port clash",
    { display: { type: "vnc", display: 1 }, incoming: { host: "0.0.0.0", port: 5901 } },
    "incoming.port",
    /display\.display/,
  ],
  [
    "tap ifname too long",
    { nets: [{ type: "tap", ifname: "a-very-long-tap-name" }] },
    "nets[0].ifname",
    /not valid/,
  ],
  [
    "tap script relative",
    { nets: [{ type: "tap", script: "qemu-ifup" }] },
    "nets[0].script",
    /not valid/,
  ],
  ["bridge missing", { nets: [{ type: "bridge" }] }, "nets[0].bridge", /missing/],
  [
    "vhost-user without shared memory",
    { nets: [{ type: "vhost-user", socketPath: "/s" }] },
    "nets[0]",
    /shared/,
  ],
  [
    "vhost-user on e1000",
    { memory: shared, nets: [{ type: "vhost-user", socketPath: "/s", model: "e1000" }] },
    "nets[0].model",
    /virtio/,
  ],
  [
    "vhost-user socket too long",
    { memory: shared, nets: [{ type: "vhost-user", socketPath: `${long}/vhost.sock` }] },
    "nets[0].socketPath",
    /107/,
  ],
  [
    "vhost-user queues",
    { memory: shared, nets: [{ type: "vhost-user", socketPath: "/s", queues: 0 }] },
    "nets[0].queues",
    /out of range/,
  ],
  [
    "vhost-user relative socket",
    { memory: shared, nets: [{ type: "vhost-user", socketPath: "vhost.sock" }] },
    "nets[0].socketPath",
    /not valid/,
  ],
  [
    "passthrough host malformed",
    { passthrough: [{ host: "81:00" }] },
    "passthrough[0].host",
    /not a PCI address/,
  ],
  [
    "passthrough host slot > 1f",
    { passthrough: [{ host: "81:20.0" }] },
    "passthrough[0].host",
    /not a PCI address/,
  ],
  [
    "passthrough function > 7",
    { passthrough: [{ host: "81:00.8" }] },
    "passthrough[0].host",
    /not a PCI address/,
  ],
  [
    "passthrough twice",
    { passthrough: [{ host: "81:00.0" }, { host: "0000:81:00.0" }] },
    "passthrough[1].host",
    /already passed through/,
  ],
  [
    "passthrough driver",
    { passthrough: [{ host: "81:00.0", driver: "vfio" }] },
    "passthrough[0].driver",
    /not supported/,
  ],
  ["QMP socket too long", { qmp: { path: `${long}/qmp.sock` } }, "qmp.path", /107 bytes/],
  [
    "QMP socket too long through runtimeDir",
    { runtimeDir: long, qmp: {} },
    "qmp.path",
    /derived from runtimeDir/,
  ],
  [
    "QMP without path and runtimeDir",
    { runtimeDir: undefined, qmp: {} },
    "qmp.path",
    /no runtimeDir/,
  ],
  ["monitor relative path", { monitor: { path: "mon.sock" } }, "monitor.path", /not valid/],
  [
    "QMP and monitor on one socket",
    { qmp: { path: "/run/a.sock" }, monitor: { path: "/run/a.sock" } },
    "monitor.path",
    /already used by qmp.path/,
  ],
  ["pidfile unknown key", { pidfile: { file: "/x" } }, "pidfile.file", /not a known field/],
  ["serial type", { serial: { type: "pty" } }, "serial.type", /"pty"/],
  ["serial telnet without port", { serial: { type: "telnet" } }, "serial.port", /missing/],
  ["serial port zero", { serial: { type: "telnet", port: 0 } }, "serial.port", /out of range/],
  [
    "serial host name",
    { serial: { type: "telnet", host: "localhost", port: 7001 } },
    "serial.host",
    /not valid/,
  ],
  [
    "serial unix with a port",
    { serial: { type: "unix", port: 7001 } },
    "serial.port",
    /not a known field/,
  ],
  [
    "serial log relative",
    { serial: { type: "unix", log: { path: "serial.log" } } },
    "serial.log.path",
    /not valid/,
  ],
  [
    "guest agent socket too long",
    { guestAgent: { path: `${long}/qga.sock` } },
    "guestAgent.path",
    /107/,
  ],
  ["display type", { display: { type: "sdl" } }, "display.type", /"sdl"/],
  [
    "VNC display too large",
    { display: { type: "vnc", display: 60000 } },
    "display.display",
    /out of range/,
  ],
  ["VNC display missing", { display: { type: "vnc" } }, "display.display", /missing/],
  [
    "VNC vga",
    { display: { type: "vnc", display: 1, vga: "vmware" } },
    "display.vga",
    /not supported/,
  ],
  ["incoming port missing", { incoming: {} }, "incoming.port", /missing/],
  [
    "incoming host",
    { incoming: { host: "example.org", port: 4444 } },
    "incoming.host",
    /not valid/,
  ],
  ["crypto backend", { crypto: [{ backend: "qat" }] }, "crypto[0].backend", /"qat"/],
  [
    "crypto vhost-user without shared memory",
    { crypto: [{ backend: "vhost-user" }] },
    "crypto[0]",
    /shared/,
  ],
  [
    "crypto builtin with a socket",
    { crypto: [{ backend: "builtin", socketPath: "/s" }] },
    "crypto[0].socketPath",
    /not a known field/,
  ],
  ["extra argument not a string", { extraArgs: ["-S", 1] }, "extraArgs[1]", /is 1/],
  ["extra argument with NUL", { extraArgs: ["-S\u0000"] }, "extraArgs[0]", /NUL/],
  [
    "extra argument reusing an id",
    { nets: [{ type: "user" }], extraArgs: ["-device", "e1000,netdev=net0,id=nic0"] },
    "extraArgs[1]",
    /nic0/,
  ],
  ["port left auto", { incoming: { port: "auto" } }, "incoming.port", /assigned before building/],
  [
    "forward left auto (text form)",
    { nets: [{ type: "user", hostForwards: ["tcp::-:22"] }] },
    "nets[0].hostForwards[0]",
    /assigned before building/,
  ],
  [
    "display left auto",
    { display: { type: "vnc", display: "auto" } },
    "display.display",
    /assigned before building/,
  ],
];

describe("validation: a table of bad specs, each rejected with its field path", () => {
  test.each(badSpecs)("%s", (_what, fields, path, message) => {
    const input = { name: "vm0", runtimeDir: "/run/qk/vm0", ...fields };
    const error = invalid(() => buildArgs(input as unknown as VmSpec));
    const issue = error.issues.find((candidate) => candidate.path === path);
    expect(issue, `issues: ${JSON.stringify(error.issues)}`).toBeDefined();
    expect(`${issue!.message} (expected ${issue!.expected})`).toMatch(message);
    expect(error.message).toContain(path);
  });
});

describe("validation: behaviour", () => {
  test("collects every problem, not only the first", () => {
    const error = invalid(() =>
      buildArgs({
        name: "bad name",
        cpu: { count: 0 },
        nets: [{ type: "user", mac: "zz", hostForwards: [{ hostPort: 0, guestPort: 22 }] }],
        colour: "blue",
      } as unknown as VmSpec),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual([
      "colour",
      "name",
      "cpu.count",
      "nets[0].mac",
      "nets[0].hostForwards[0].hostPort",
    ]);
    expect(error.message).toMatch(/5 problems/);
  });

  test("issues say what was expected", () => {
    const error = invalid(() =>
      buildArgs({ name: "vm0", serial: { type: "telnet", port: 70000 } }),
    );
    expect(error.issues).toEqual([
      {
        path: "serial.port",
        message: "70000 is out of range",
        expected: 'a port number 1–65535 or "auto"',
      },
    ]);
    expect(error.message).toBe(
      'invalid VM spec: serial.port: 70000 is out of range (expected a port number 1–65535 or "auto")',
    );
  });

  test("rejects what is not a plain object", () => {
    for (const input of [null, undefined, "vm0", [], new Map(), new (class Spec {})()]) {
      const error = invalid(() => buildArgs(input as unknown as VmSpec));
      expect(error.issues[0]!.path).toBe("");
    }
  });

  test("accepts JSON input and returns it typed", () => {
    const json = JSON.parse(
      '{"name":"vm0","memory":{"sizeMiB":128},"nets":[{"type":"user"}]}',
    ) as unknown;
    const typed: VmSpec = validateSpec(json);
    expect(typed.name).toBe("vm0");
  });

  test("undefined optional fields count as absent", () => {
    expect(specIssues({ name: "vm0", cpu: undefined, qmp: undefined })).toEqual([]);
  });

  test("allowUnassigned accepts auto ports and a missing runtimeDir, and nothing else", () => {
    const pending = {
      name: "vm0",
      qmp: {},
      serial: { type: "telnet", port: "auto" },
      display: { type: "vnc", display: "auto" },
      incoming: { port: "auto" },
      nets: [{ type: "user", hostForwards: ["tcp::-:22", { hostPort: "auto", guestPort: 80 }] }],
    };
    expect(specIssues(pending, { allowUnassigned: true })).toEqual([]);
    expect(specIssues(pending).map((issue) => issue.path)).toEqual([
      "nets[0].hostForwards[0]",
      "nets[0].hostForwards[1].hostPort",
      "qmp.path",
      "serial.port",
      "display.display",
      "incoming.port",
    ]);
    expect(specIssues({ ...pending, cpu: { count: 0 } }, { allowUnassigned: true })).toHaveLength(
      1,
    );
  });

  test("a unix socket path of exactly 107 bytes is fine, 108 is not (counted in UTF-8 bytes)", () => {
    const exact = `/${"a".repeat(106)}`;
    expect(exact).toHaveLength(107);
    expect(specIssues({ name: "vm0", qmp: { path: exact } })).toEqual([]);
    expect(specIssues({ name: "vm0", qmp: { path: `${exact}a` } })[0]!.path).toBe("qmp.path");
    // 53 two-byte characters: 106 bytes + "/" = 107 bytes although only 54 characters.
    expect(specIssues({ name: "vm0", qmp: { path: `/${"é".repeat(53)}` } })).toEqual([]);
    expect(specIssues({ name: "vm0", qmp: { path: `/${"é".repeat(54)}` } })[0]!.message).toMatch(
      /109 bytes/,
    );
  });

  test("the same slot on different buses is fine, as are different functions of one slot", () => {
    expect(
      specIssues({
        name: "vm0",
        nets: [
          { type: "user", pciAddress: "03.0" },
          { type: "user", pciAddress: "03.1" },
          { type: "user", pciAddress: "03.0", bus: "bridge1" },
        ],
      }),
    ).toEqual([]);
    // pci.0 and no bus are the same root bus
    expect(
      specIssues({
        name: "vm0",
        nets: [
          { type: "user", pciAddress: "03", bus: "pci.0" },
          { type: "user", pciAddress: "0x3" },
        ],
      })[0]!.path,
    ).toBe("nets[1].pciAddress");
  });

  test("listeners on different specific addresses may share a port; a wildcard clashes with all", () => {
    expect(
      specIssues({
        name: "vm0",
        serial: { type: "telnet", host: "127.0.0.1", port: 7000 },
        incoming: { host: "127.0.0.2", port: 7000 },
      }),
    ).toEqual([]);
    expect(
      specIssues({
        name: "vm0",
        nets: [
          { type: "user", hostForwards: [{ protocol: "udp", hostPort: 7000, guestPort: 53 }] },
        ],
        serial: { type: "telnet", port: 7000 },
      }),
    ).toEqual([]);
  });

  test("is an Error with a stable code and name", () => {
    const error = invalid(() => buildArgs({ name: "" }));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("InvalidSpecError");
    expect(error.code).toBe("ERR_BOOTLINE_INVALID_SPEC");
    expect(Object.isFrozen(error.issues)).toBe(true);
    expect(new InvalidSpecError([{ path: "x", message: "y" }]).message).toBe(
      "invalid VM spec: x: y",
    );
  });
});

describe("lists as a caller may build them", () => {
  test("a hole in a list (a sparse array) is an entry that is missing, not a crash", () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const extraArgs = ["-S", , "-no-shutdown"];
    const issues = specIssues({
      name: "vm0",
      extraArgs,
      nets: [{ type: "user", hostForwards: new Array(2) }],
    });
    expect(issues.map((issue) => issue.path)).toEqual([
      "nets[0].hostForwards[0]",
      "nets[0].hostForwards[1]",
      "extraArgs[1]",
    ]);
  });

  test("a list of more than 100,000 entries is one issue, read in no time (new Array(2³²-1) is all holes)", () => {
    const issues = specIssues({
      name: "vm0",
      extraArgs: new Array(2 ** 32 - 1),
      drives: new Array(100_001).fill({ path: "/a" }),
    });
    expect(issues).toEqual([
      { path: "drives", message: "has 100001 entries", expected: "at most 100000" },
      { path: "extraArgs", message: "has 4294967295 entries", expected: "at most 100000" },
    ]);
  });
});
