/** What the facade's integration tests share: the test guest, a private runtime base and pool per test. */
import { join } from "node:path";
import type { VmSpec } from "@qemu-kvm/bootline";
import { createLocalHost, type Host } from "@qemu-kvm/host";
import { ensureGuest, type TestGuest } from "@qemu-kvm/test-guest";
import type { SshdFixture, TempDir } from "@qemu-kvm/testkit";
import { test as base } from "@qemu-kvm/testkit/fixtures";

/** Named so that the type of `test` can be written in declarations. */
export type { SshdFixture, TempDir };

/** Where a test's VMs keep their files and leases: apart from every other test and from /run. */
export interface VmEnv {
  readonly runtimeBase: string;
  readonly poolOptions: { readonly stateDir: string };
}

export const test = base
  .extend("guest", { scope: "file" }, async (): Promise<TestGuest> => ensureGuest())
  .extend("host", async ({}, { onCleanup }): Promise<Host> => {
    const host = createLocalHost();
    onCleanup(() => host.close());
    return host;
  })
  .extend(
    "env",
    async ({ tempDir }): Promise<VmEnv> => ({
      runtimeBase: join(tempDir.path, "rt"),
      poolOptions: { stateDir: join(tempDir.path, "pool") },
    }),
  );

/** The test guest as a spec: q35 under TCG, user networking with the guest's SSH forwarded. */
export function guestSpec(guest: TestGuest, name: string, extra: Partial<VmSpec> = {}): VmSpec {
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

export const LOGIN = { user: "root", password: "qemu-kvm" } as const;
