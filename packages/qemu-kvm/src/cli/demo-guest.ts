/**
 * The demo's guest: the repository's test guest (`@qemu-kvm/test-guest`, a
 * development dependency of this package). It is imported only by `demo`, by
 * a name the bundler leaves alone, so the published command neither bundles
 * it nor needs it for any other verb; without it, `demo` says what to do.
 */
import type { VmSpec } from "@qemu-kvm/bootline";
import { DemoError } from "./errors.js";

/** What the demo uses of a built test guest. */
export interface DemoGuest {
  readonly directory: string;
  readonly kernelPath: string;
  readonly initrdPath: string;
  readonly append: string;
  readonly kernelVersion: string;
  readonly credentials: { readonly user: string; readonly password: string };
}

export interface GuestBuildProgress {
  readonly message: string;
  readonly elapsedMs: number;
}

export interface TestGuestModule {
  ensureGuest(options: {
    signal?: AbortSignal;
    onProgress?: (progress: GuestBuildProgress) => void;
  }): Promise<DemoGuest>;
  guestVmSpec(guest: DemoGuest, name: string, extra?: Partial<VmSpec>): VmSpec;
}

/** A variable, not a literal: bundlers and the workspace's import rules leave a lazy import alone. */
const TEST_GUEST_PACKAGE = "@qemu-kvm/test-guest";

/** `ensureGuest` of the test guest package, or `ERR_VM_DEMO` when it is not installed. */
export async function loadTestGuest(): Promise<TestGuestModule> {
  let url: string;
  try {
    url = import.meta.resolve(TEST_GUEST_PACKAGE);
  } catch (error) {
    throw new DemoError({
      message: `the demo boots the repository's test guest (${TEST_GUEST_PACKAGE}), which is not installed with this package`,
      hint: "run it from a clone of the qemu-kvm repository: ./scripts/bootstrap && pnpm demo",
      cause: error,
    });
  }
  try {
    return (await import(url)) as TestGuestModule;
  } catch (error) {
    // Found, but not loadable: in the repository it is TypeScript, which plain Node does not run.
    throw new DemoError({
      message: `the test guest (${url}) could not be loaded: ${(error as Error).message}`,
      hint: "run the demo from source in the repository: pnpm demo",
      cause: error,
    });
  }
}

/** The test guest as a spec (its own `guestVmSpec`), with a guest agent channel. */
export function demoSpec(guests: TestGuestModule, guest: DemoGuest, name: string): VmSpec {
  return guests.guestVmSpec(guest, name, { guestAgent: {} });
}
