/**
 * The test guest as a `@qemu-kvm/bootline` spec, the one way every user of it (the
 * facade's tests and demo, the benchmarks) boots it: q35 under TCG, 256 MiB, the
 * uncompressed kernel and the initramfs, virtio-net (no option ROM: the guest boots
 * by `-kernel`, not PXE) with the guest's SSH port forwarded from a leased host port,
 * and virtio-rng (the guest's sshd and login want entropy early).
 */
import type { VmSpec } from "@qemu-kvm/bootline";
import type { TestGuest } from "./test-guest.js";

/** What the spec needs of a built guest. */
export type GuestBootPaths = Pick<TestGuest, "kernelPath" | "initrdPath" | "append">;

/** The test guest as a spec named `name`; `extra` adds to it or replaces top-level fields. */
export function guestVmSpec(
  guest: GuestBootPaths,
  name: string,
  extra: Partial<VmSpec> = {},
): VmSpec {
  return {
    name,
    accelerator: "tcg",
    machine: { type: "q35" },
    defaultDevices: false,
    memory: { sizeMiB: 256 },
    kernel: { path: guest.kernelPath, initrdPath: guest.initrdPath, append: guest.append },
    nets: [
      {
        type: "user",
        model: "virtio-net-pci",
        romfile: "",
        hostForwards: [{ hostPort: "auto", guestPort: 22 }],
      },
    ],
    rng: {},
    display: { type: "none" },
    ...extra,
  };
}
