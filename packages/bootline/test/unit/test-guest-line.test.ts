/**
 * The test guest's command line (tools/test-guest's `guestQemuArgs`, recorded in
 * test/fixtures/test-guest-argv.json) built from a `VmSpec` alone, without
 * `extraArgs`: every option that matters to the guest is the same. Only the names
 * QEMU gives its objects (chardev, netdev ids) and the entropy backend differ.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildArgs, parseArgs, splitOptionList, type VmSpec } from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";

const recorded = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "fixtures", "test-guest-argv.json"), "utf8"),
) as { q35VirtioNet: string[]; pcE1000: string[] };

/** The guest's own kernel command line (tools/test-guest/src/recipe.ts KERNEL_APPEND). */
const GUEST_APPEND =
  "console=ttyS0,115200 quiet panic=-1 mitigations=off cryptomgr.notests no_timer_check ipv6.disable=1";

/** The test guest as a facade would describe it: the paths are made up, as in the fixture. */
function guestSpec(variant: "q35VirtioNet" | "pcE1000"): VmSpec {
  const pc = variant === "pcE1000";
  return {
    name: "guest",
    runtimeDir: "/run/qk/guest",
    accelerator: "tcg",
    machine: { type: pc ? "pc" : "q35" },
    memory: { sizeMiB: pc ? 512 : 256 },
    cpu: { count: pc ? 2 : 1 },
    noUserConfig: true,
    noReboot: true,
    kernel: {
      path: "/cache/guest/vmlinux",
      initrdPath: "/cache/guest/initramfs.cpio",
      // The guest's append already says console=ttyS0,115200: not written twice.
      console: { device: "ttyS0", baudRate: 115200 },
      append: pc ? `${GUEST_APPEND} pci=noacpi` : GUEST_APPEND,
    },
    serial: { type: "unix", log: {} },
    qmp: {},
    rng: {},
    guestAgent: {},
    nets: [
      pc
        ? {
            type: "user",
            model: "e1000",
            romfile: "",
            deviceProperties: { autonegotiation: false },
            hostForwards: [{ hostPort: 10022, guestPort: 22 }],
          }
        : {
            type: "user",
            model: "virtio-net-pci",
            romfile: "",
            hostForwards: [{ hostPort: 10022, guestPort: 22 }],
          },
    ],
  };
}

/** Every value of an option, in order. */
function values(args: readonly string[], option: string): string[] {
  const found: string[] = [];
  for (let index = 0; index < args.length; index++)
    if (args[index] === option) found.push(args[index + 1]!);
  return found;
}

/** What the guest sees of a command line: the options that shape the machine, without object names. */
function essentials(args: readonly string[]) {
  const facts = parseArgs(args);
  const NAMES = new Set(["id", "bus", "chardev", "netdev", "rng"]);
  return {
    accel: values(args, "-accel"),
    machine: values(args, "-machine"),
    memoryMiB: values(args, "-m").map((size) => Number.parseInt(size, 10)),
    smp: values(args, "-smp"),
    display: values(args, "-display"),
    flags: ["-nodefaults", "-no-user-config", "-no-reboot", "-S"].filter((flag) =>
      args.includes(flag),
    ),
    kernel: facts.kernel,
    initrd: facts.initrd,
    append: values(args, "-append"),
    serials: facts.serials,
    qmp: facts.qmp,
    guestAgent: facts.guestAgent,
    hostForwards: facts.hostForwards,
    // Devices by driver and properties; the ids that tie them to backends are names only.
    devices: values(args, "-device")
      .map((device) => {
        const [driver, ...properties] = splitOptionList(device, "driver");
        const named = properties
          .filter((part) => !NAMES.has(part.key))
          .map((part) => `${part.key}=${part.value}`)
          .sort();
        return [driver!.value, ...named].join(",");
      })
      .sort(),
  };
}

describe("the test guest's command line, from a VmSpec without extraArgs", () => {
  test.each(["q35VirtioNet", "pcE1000"] as const)(
    "%s: every option the guest depends on",
    (variant) => {
      const built = buildArgs(guestSpec(variant));
      expect(essentials(built)).toEqual(essentials(recorded[variant]));
    },
  );

  test("what differs: the object names, and an explicit entropy backend", () => {
    const built = buildArgs(guestSpec("q35VirtioNet"));
    // The test guest relies on virtio-rng-pci's default backend (rng-builtin in QEMU ≥ 4.2);
    // the spec names its source: /dev/urandom, read by rng-random.
    expect(values(built, "-object")).toEqual(["rng-random,id=rng0,filename=/dev/urandom"]);
    expect(values(recorded.q35VirtioNet, "-object")).toEqual([]);
    expect(values(built, "-device")).toContain("virtio-rng-pci,rng=rng0,id=virtio-rng0");
    expect(values(built, "-device")).toContain("virtio-net-pci,netdev=net0,id=nic0,romfile=");
    expect(values(built, "-append")).toEqual([GUEST_APPEND]);
  });

  test("its facts: the image files, the sockets to remove after it stops, no TCP but the SSH forward", () => {
    const facts = parseArgs(buildArgs(guestSpec("pcE1000")));
    expect(facts.kernel).toBe("/cache/guest/vmlinux");
    expect(facts.initrd).toBe("/cache/guest/initramfs.cpio");
    expect(facts.drives).toEqual([]);
    expect(facts.listeners).toEqual([
      { kind: "forward", protocol: "tcp", host: "127.0.0.1", port: 10022 },
    ]);
    expect(facts.runtimePaths.map((path) => `${path.kind}:${path.role}`)).toEqual([
      "qmp:listen",
      "serial:listen",
      "serial-log:file",
      "guest-agent:listen",
    ]);
  });
});
