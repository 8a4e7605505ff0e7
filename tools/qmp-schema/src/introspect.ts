import { connectQmp } from "@qemu-kvm/monitor";
import { type QemuBuild, startQmpProcess } from "@qemu-kvm/testkit";
import type { QemuIdentity } from "./render.js";
import type { SchemaInfo } from "./schema-info.js";

export interface Introspection {
  version: QemuIdentity;
  schema: SchemaInfo[];
}

/**
 * Starts `build` with no machine, asks `query-version` and `query-qmp-schema`
 * over QMP (through `@qemu-kvm/monitor`), and stops it.
 */
export async function introspect(build: QemuBuild, timeoutMs = 30_000): Promise<Introspection> {
  await using qemu = await startQmpProcess(build);
  try {
    await using qmp = await connectQmp(qemu.stream, { timeoutMs, commandTimeoutMs: timeoutMs });
    const version = (await qmp.executeUnchecked("query-version")) as QemuIdentity;
    const schema = (await qmp.executeUnchecked("query-qmp-schema")) as SchemaInfo[];
    return { version, schema };
  } catch (error) {
    throw new Error(`introspecting ${build.binary} failed: ${qemu.stderr().trim()}`, {
      cause: error,
    });
  }
}
