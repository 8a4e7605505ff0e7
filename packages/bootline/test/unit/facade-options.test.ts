/**
 * What the VM facade builds its command lines with: a UUID, a paused start, an
 * entropy device, NICs without option ROMs, one kernel console per device, the
 * unix socket forms of VNC and incoming migration, no user config, no reboot,
 * and the emulator for the host's architecture.
 */
import {
  buildArgs,
  defaultEmulator,
  parseArgs,
  specFacts,
  unassignedPorts,
  type VmSpec,
} from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { invalid, invalidArgument, optionValue, optionValues, spec } from "../helpers/spec.js";

/** A spec from untyped fields, as JSON input would be (over name and runtimeDir). */
const loose = (fields: Record<string, unknown>) =>
  ({ name: "vm0", runtimeDir: "/run/qk/vm0", ...fields }) as unknown as VmSpec;

/** `parseArgs(buildArgs(spec))` equals `specFacts(spec)`, and the facts are returned. */
function roundTrip(input: VmSpec) {
  const facts = specFacts(input);
  expect(parseArgs(buildArgs(input))).toEqual(facts);
  return facts;
}

describe("uuid: -uuid, in lower case, in the facts from both sides", () => {
  test("is written in lower case and read back in lower case", () => {
    const input = spec({ uuid: "6A1F3C2E-0B7D-4E59-9C1A-2F8E4D6B7A90" });
    const args = buildArgs(input);
    expect(optionValue(args, "-uuid")).toBe("6a1f3c2e-0b7d-4e59-9c1a-2f8e4d6b7a90");
    expect(args.slice(0, 4)).toEqual([
      "-name",
      "vm0",
      "-uuid",
      "6a1f3c2e-0b7d-4e59-9c1a-2f8e4d6b7a90",
    ]);
    expect(roundTrip(input).uuid).toBe("6a1f3c2e-0b7d-4e59-9c1a-2f8e4d6b7a90");
    // Another tool's upper-case UUID compares equal to what a guest's DMI reports.
    expect(parseArgs(["-uuid", "6A1F3C2E-0B7D-4E59-9C1A-2F8E4D6B7A90"]).uuid).toBe(
      "6a1f3c2e-0b7d-4e59-9c1a-2f8e4d6b7a90",
    );
  });

  test("absent without -uuid; a value QEMU would refuse is left out", () => {
    expect(buildArgs(spec())).not.toContain("-uuid");
    expect(specFacts(spec()).uuid).toBeUndefined();
    expect(parseArgs(["-uuid", "not-a-uuid"]).uuid).toBeUndefined();
  });

  test.each([
    ["too short", "6a1f3c2e-0b7d-4e59-9c1a-2f8e4d6b7a9"],
    ["without dashes", "6a1f3c2e0b7d4e599c1a2f8e4d6b7a90"],
    ["in braces", "{6a1f3c2e-0b7d-4e59-9c1a-2f8e4d6b7a90}"],
    ["not hex", "6a1f3c2e-0b7d-4e59-9c1a-2f8e4d6b7a9g"],
    ["with a comma", "6a1f3c2e-0b7d-4e59-9c1a,2f8e4d6b7a90"],
  ])("a UUID %s is an issue of uuid", (_what, uuid) => {
    const error = invalid(() => buildArgs(spec({ uuid })));
    expect(error.issues).toEqual([expect.objectContaining({ path: "uuid" })]);
    expect(error.issues[0]!.expected).toMatch(/8-4-4-4-12/);
  });
});

describe("paused, noReboot, noUserConfig: flags", () => {
  test("-S, -no-reboot and -no-user-config only when asked for", () => {
    const plain = buildArgs(spec());
    for (const flag of ["-S", "-no-reboot", "-no-user-config"]) expect(plain).not.toContain(flag);
    const args = buildArgs(spec({ paused: true, noReboot: true, noUserConfig: true }));
    expect(args.filter((arg) => ["-S", "-no-reboot", "-no-user-config"].includes(arg))).toEqual([
      "-no-user-config",
      "-S",
      "-no-reboot",
    ]);
    // After -nodefaults, which it belongs with.
    expect(args.indexOf("-no-user-config")).toBe(args.indexOf("-nodefaults") + 1);
  });

  test("paused is a fact from the spec and from argv; other tools' -S counts too", () => {
    expect(roundTrip(spec({ paused: true })).paused).toBe(true);
    expect(roundTrip(spec()).paused).toBe(false);
    expect(parseArgs(["qemu-system-x86_64", "-name", "x", "-S"]).paused).toBe(true);
    expect(parseArgs(["qemu-system-x86_64", "-name", "x"]).paused).toBe(false);
  });

  test.each(["paused", "noReboot", "noUserConfig"])("%s must be a boolean", (key) => {
    const error = invalid(() => buildArgs(spec({ [key]: "yes" })));
    expect(error.issues).toEqual([expect.objectContaining({ path: key })]);
  });
});

describe("rng: a virtio random-number device fed from a host file", () => {
  test("defaults to /dev/urandom, with the ids of the ids scheme", () => {
    const args = buildArgs(spec({ rng: {} }));
    expect(optionValue(args, "-object")).toBe("rng-random,id=rng0,filename=/dev/urandom");
    expect(optionValue(args, "-device")).toBe("virtio-rng-pci,rng=rng0,id=virtio-rng0");
  });

  test("another source (escaped) and a guest slot", () => {
    const args = buildArgs(spec({ rng: { source: "/dev/hw,rng", pciAddress: "0x1d" } }));
    expect(optionValue(args, "-object")).toBe("rng-random,id=rng0,filename=/dev/hw,,rng");
    expect(optionValue(args, "-device")).toBe("virtio-rng-pci,rng=rng0,id=virtio-rng0,addr=1d.0");
  });

  test("its ids are taken: extraArgs may not reuse them; its slot is taken too", () => {
    const clash = invalid(() =>
      buildArgs(spec({ rng: {}, extraArgs: ["-object", "rng-builtin,id=rng0"] })),
    );
    expect(clash.issues).toEqual([expect.objectContaining({ path: "extraArgs[1]" })]);
    const slot = invalid(() =>
      buildArgs(spec({ rng: { pciAddress: "1d" }, guestAgent: { pciAddress: "1d" } })),
    );
    expect(slot.issues.map((issue) => issue.path)).toContain("rng.pciAddress");
  });

  test.each([
    ["a relative source", { source: "dev/urandom" }, "rng.source"],
    ["an empty source", { source: "" }, "rng.source"],
    ["an unknown key", { backend: "builtin" }, "rng.backend"],
    ["a bad slot", { pciAddress: "zz" }, "rng.pciAddress"],
  ])("%s is an issue", (_what, rng, path) => {
    const error = invalid(() => buildArgs(loose({ rng })));
    expect(error.issues.map((issue) => issue.path)).toEqual([path]);
  });
});

describe("romfile: a NIC's option ROM, or none", () => {
  test('"" writes romfile= (no ROM); a path is escaped like every option value', () => {
    const args = buildArgs(
      spec({
        nets: [
          {
            type: "user",
            model: "e1000",
            romfile: "",
            deviceProperties: { autonegotiation: false },
          },
          { type: "user", romfile: "/usr/share/qemu/pxe,virtio.rom" },
          { type: "user" },
        ],
      }),
    );
    expect(optionValues(args, "-device")).toEqual([
      "e1000,netdev=net0,id=nic0,romfile=,autonegotiation=off",
      "virtio-net-pci,netdev=net1,id=nic1,romfile=/usr/share/qemu/pxe,,virtio.rom",
      "virtio-net-pci,netdev=net2,id=nic2",
    ]);
  });

  test("every network type has it", () => {
    const args = buildArgs(
      spec({
        memory: { sizeMiB: 512, backend: { type: "memfd" } },
        nets: [
          { type: "tap", romfile: "" },
          { type: "bridge", bridge: "br0", romfile: "" },
          { type: "vhost-user", socketPath: "/run/v.sock", romfile: "" },
        ],
      }),
    );
    expect(optionValues(args, "-device").every((device) => device.includes(",romfile="))).toBe(
      true,
    );
  });

  test("not a string, or given twice (also in deviceProperties), is an issue", () => {
    expect(
      invalid(() => buildArgs(loose({ nets: [{ type: "user", romfile: false }] }))).issues,
    ).toEqual([expect.objectContaining({ path: "nets[0].romfile" })]);
    expect(
      invalid(() =>
        buildArgs(
          spec({ nets: [{ type: "user", romfile: "", deviceProperties: { romfile: "/x.rom" } }] }),
        ),
      ).issues,
    ).toEqual([expect.objectContaining({ path: "nets[0].deviceProperties.romfile" })]);
    // deviceProperties.romfile alone still works, as before the field.
    expect(
      optionValue(
        buildArgs(spec({ nets: [{ type: "user", deviceProperties: { romfile: "" } }] })),
        "-device",
      ),
    ).toBe("virtio-net-pci,netdev=net0,id=nic0,romfile=");
  });
});

describe("kernel console: one console= per device", () => {
  const append = (kernel: NonNullable<VmSpec["kernel"]>) =>
    optionValue(buildArgs(spec({ kernel })), "-append");

  test("the guest's own console= for the same device is kept, and no second one is added", () => {
    expect(
      append({
        path: "/k",
        console: { device: "ttyS0", baudRate: 115200 },
        append: "console=ttyS0,115200 quiet panic=-1",
      }),
    ).toBe("console=ttyS0,115200 quiet panic=-1");
    // Whatever its options: the guest's line wins for its device.
    expect(
      append({
        path: "/k",
        console: { device: "ttyS0" },
        root: "/dev/vda",
        append: "quiet console=ttyS0,9600n8",
      }),
    ).toBe("root=/dev/vda quiet console=ttyS0,9600n8");
  });

  test("a console= for another device is kept beside the spec's (Linux allows several)", () => {
    expect(
      append({
        path: "/k",
        console: { device: "ttyS0", baudRate: 115200 },
        append: "console=tty0 quiet",
      }),
    ).toBe("console=ttyS0,115200 console=tty0 quiet");
    // ttyS1 is not ttyS0, and a word that only contains console= is not one.
    expect(
      append({
        path: "/k",
        console: { device: "ttyS0" },
        append: "console=ttyS1 netconsole=ttyS0",
      }),
    ).toBe("console=ttyS0 console=ttyS1 netconsole=ttyS0");
  });
});

describe("unix socket forms of VNC and the incoming migration", () => {
  test("-vnc unix:PATH (default <runtimeDir>/vnc.sock; commas doubled) with its VGA", () => {
    const args = buildArgs(spec({ display: { type: "vnc", socket: "unix" } }));
    expect(optionValue(args, "-vnc")).toBe("unix:/run/qk/vm0/vnc.sock");
    expect(optionValue(args, "-vga")).toBe("std");
    const named = buildArgs(
      spec({ display: { type: "vnc", socket: "unix", path: "/run/a,b/v.sock", vga: "virtio" } }),
    );
    expect(optionValue(named, "-vnc")).toBe("unix:/run/a,,b/v.sock");
    expect(optionValue(named, "-vga")).toBe("virtio");
  });

  test("-incoming unix:PATH (default <runtimeDir>/incoming.sock; a URI: the path as it is)", () => {
    expect(optionValue(buildArgs(spec({ incoming: { type: "unix" } })), "-incoming")).toBe(
      "unix:/run/qk/vm0/incoming.sock",
    );
    expect(
      optionValue(
        buildArgs(spec({ incoming: { type: "unix", path: "/run/a,b/in.sock" } })),
        "-incoming",
      ),
    ).toBe("unix:/run/a,b/in.sock");
  });

  test("the TCP forms are unchanged, with or without their discriminant", () => {
    expect(
      optionValue(buildArgs(spec({ incoming: { type: "tcp", port: 4444 } })), "-incoming"),
    ).toBe("tcp:127.0.0.1:4444");
    expect(optionValue(buildArgs(spec({ incoming: { port: 4444 } })), "-incoming")).toBe(
      "tcp:127.0.0.1:4444",
    );
    expect(
      optionValue(buildArgs(spec({ display: { type: "vnc", socket: "tcp", display: 2 } })), "-vnc"),
    ).toBe("127.0.0.1:2");
  });

  test("are runtime paths (vnc, incoming: listen), listen on no port, and read back from argv", () => {
    const facts = roundTrip(
      spec({
        display: { type: "vnc", socket: "unix" },
        incoming: { type: "unix" },
        qmp: {},
      }),
    );
    expect(facts.vnc).toEqual({ path: "/run/qk/vm0/vnc.sock" });
    expect(facts.incoming).toEqual({ path: "/run/qk/vm0/incoming.sock" });
    expect(facts.listeners).toEqual([]);
    expect(facts.runtimePaths).toEqual([
      { kind: "qmp", path: "/run/qk/vm0/qmp.sock", role: "listen" },
      { kind: "vnc", path: "/run/qk/vm0/vnc.sock", role: "listen" },
      { kind: "incoming", path: "/run/qk/vm0/incoming.sock", role: "listen" },
    ]);
    // Other tools' command lines: an escaped VNC path, a raw migration path.
    const other = parseArgs([
      "-vnc",
      "unix:/tmp/a,,b.sock,password=on",
      "-incoming",
      "unix:/tmp/c,d",
    ]);
    expect(other.vnc).toEqual({ path: "/tmp/a,b.sock" });
    expect(other.incoming).toEqual({ path: "/tmp/c,d" });
  });

  test("ask for no port: unassignedPorts lists none of them", () => {
    expect(
      unassignedPorts(
        spec({ display: { type: "vnc", socket: "unix" }, incoming: { type: "unix" } }),
      ),
    ).toEqual([]);
    expect(
      unassignedPorts(
        spec({
          display: { type: "vnc", display: "auto" },
          incoming: { type: "tcp", port: "auto" },
        }),
      ).map((request) => request.field),
    ).toEqual(["display.display", "incoming.port"]);
  });

  const long = `/run/${"x".repeat(100)}`;
  test.each([
    [
      "a VNC path too long for a unix socket",
      { display: { type: "vnc", socket: "unix", path: `${long}/vnc.sock` } },
      "display.path",
      /107/,
    ],
    [
      "a VNC path derived too long",
      { runtimeDir: long, display: { type: "vnc", socket: "unix" } },
      "display.path",
      /107/,
    ],
    [
      "a relative VNC path",
      { display: { type: "vnc", socket: "unix", path: "vnc.sock" } },
      "display.path",
      /not valid/,
    ],
    [
      "a unix VNC display with a port",
      { display: { type: "vnc", socket: "unix", display: 1 } },
      "display.display",
      /not a known field/,
    ],
    [
      "a VNC socket kind",
      { display: { type: "vnc", socket: "udp", display: 1 } },
      "display.socket",
      /"udp"/,
    ],
    [
      "a unix VNC without runtimeDir",
      { runtimeDir: undefined, display: { type: "vnc", socket: "unix" } },
      "display.path",
      /no path/,
    ],
    [
      "an incoming path too long",
      { incoming: { type: "unix", path: `${long}/in.sock` } },
      "incoming.path",
      /107/,
    ],
    [
      "a unix incoming with a port",
      { incoming: { type: "unix", port: 4444 } },
      "incoming.port",
      /not a known field/,
    ],
    ["an incoming type", { incoming: { type: "rdma", port: 4444 } }, "incoming.type", /"rdma"/],
    [
      "a VNC socket on the QMP socket's path",
      { qmp: { path: "/run/qk/vm0/vnc.sock" }, display: { type: "vnc", socket: "unix" } },
      "display.path",
      /already used by qmp.path/,
    ],
  ])("%s is an issue", (_what, fields, path, message) => {
    const error = invalid(() => buildArgs(loose(fields)));
    const issue = error.issues.find((candidate) => candidate.path === path);
    expect(issue, JSON.stringify(error.issues)).toBeDefined();
    expect(`${issue!.message} (expected ${issue!.expected})`).toMatch(message);
  });
});

describe("defaultEmulator: the QEMU binary for a host architecture (uname -m)", () => {
  test.each([
    ["x86_64", "qemu-system-x86_64"],
    ["aarch64", "qemu-system-aarch64"],
    ["arm64", "qemu-system-aarch64"],
    ["ppc64le", "qemu-system-ppc64"],
    ["s390x", "qemu-system-s390x"],
    ["riscv64", "qemu-system-riscv64"],
    ["i686", "qemu-system-i386"],
    ["i386", "qemu-system-i386"],
    ["armv7l", "qemu-system-arm"],
  ])("%s → %s", (arch, emulator) => {
    expect(defaultEmulator(arch)).toBe(emulator);
  });

  test.each([["sparc64"], [""], ["X86_64"], [undefined], [64]])(
    "%j is an argument error naming arch",
    (arch) => {
      const error = invalidArgument(() => defaultEmulator(arch as string), "arch");
      expect(error.message).toMatch(/uname -m/);
    },
  );
});
