import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { qemuBuilds } from "@qemu-kvm/testkit";
import { expect, test } from "vitest";
import { SCHEMA_DIRECTORY } from "../../src/directory.js";
import { generateSchemas } from "../../src/generate.js";

// QEMU 10.0 comes from QEMU_KVM_QEMU10_BINARY: without it this fails (qemuBuilds throws).
test("the committed schemas are what the live QEMUs (7.2 and 10.0) generate now", async () => {
  const files = await generateSchemas(qemuBuilds(), SCHEMA_DIRECTORY);
  expect([...files.keys()].sort()).toEqual(["qemu-10.0.ts", "qemu-7.2.ts", "versions.ts"]);
  for (const [name, generated] of files) {
    const committed = await readFile(join(SCHEMA_DIRECTORY, name), "utf8");
    // On failure: regenerate with `pnpm --filter @qemu-kvm/qmp-schema run generate`.
    expect(committed, `${name} is stale`).toBe(generated);
  }
});
