/** `qemu-kvm ps`: the VMs on a host, a table on a terminal and JSON for scripts. */
import type { CallOptions } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { connectQmp } from "@qemu-kvm/monitor";
import type { VmRecord } from "../runtime/record.js";
import { listVms } from "../vm/find.js";
import { EXIT } from "./exit-codes.js";
import type { PsInvocation } from "./invocation.js";
import { type CliIo, write } from "./io.js";
import { formatTable, rowOf } from "./ps-format.js";
import { withHost } from "./target.js";

/**
 * How long QMP may take to answer `query-status`. It answers in well under a
 * millisecond; longer means another client holds the VM's one QMP connection.
 */
const STATE_TIMEOUT_MS = 2_000;

/** QEMU's run state over QMP, or null when QMP does not answer in time (another controller holds it). */
async function stateOf(host: Host, record: VmRecord, signal: AbortSignal): Promise<string | null> {
  const options: CallOptions = { signal, timeoutMs: STATE_TIMEOUT_MS };
  try {
    const stream = await host.connectUnix(record.qmpPath, options);
    const qmp = await connectQmp(stream, options);
    try {
      return (await qmp.queryStatus(options)).status;
    } finally {
      qmp.destroy();
    }
  } catch (error) {
    if (signal.aborted) throw error;
    return null;
  }
}

export async function runPs(invocation: PsInvocation, io: CliIo): Promise<number> {
  const { runtimeBase } = invocation.target;
  return withHost(invocation.target, io.env, io.signal, async (host) => {
    const listings = await listVms(host, {
      signal: io.signal,
      foreign: invocation.all,
      ...(runtimeBase ? { runtimeBase } : {}),
    });
    const rows = await Promise.all(
      listings.map(async (listing) =>
        rowOf(listing, listing.record ? await stateOf(host, listing.record, io.signal) : null),
      ),
    );
    const format = invocation.format ?? (io.stdout.isTTY ? "table" : "json");
    await write(
      io.stdout,
      format === "json" ? `${JSON.stringify(rows, null, 2)}\n` : formatTable(rows),
    );
    return EXIT.ok;
  });
}
