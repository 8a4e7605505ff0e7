/**
 * Global setup of an `integration` project that runs QEMU 10.0 beside the system's
 * 7.2 in one file (testkit's `qemuBuilds()`: the schema tests): 10.0 is there,
 * fetched once under the build lock if scripts/bootstrap has not already done it.
 */
import { ensureQemu } from "./tools/test-guest/src/qemu/ensure-qemu.js";

export default async function setup(): Promise<void> {
  await ensureQemu("10.0", { timeoutMs: 900_000 });
}
