/**
 * Global setup of the `integration-qemu-<release>` projects (vitest.shared.ts): the
 * QEMU the project's `PATH` names is there (fetched once, under the build lock, if
 * scripts/bootstrap has not already done it), and it is that release.
 */
import { delimiter } from "node:path";
import type { TestProject } from "vitest/node";
import { ensureQemu } from "./tools/test-guest/src/qemu/ensure-qemu.js";

export default async function setup(project: TestProject): Promise<void> {
  const release = String(project.config.env.QEMU_KVM_TEST_QEMU);
  const qemu = await ensureQemu(release, { timeoutMs: 900_000 });
  const path = String(project.config.env.PATH ?? "");
  if (path.split(delimiter)[0] !== qemu.binDirectory)
    throw new Error(`the project's PATH does not start with ${qemu.binDirectory}: ${path}`);
}
