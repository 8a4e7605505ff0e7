/**
 * `qemu-kvm monitor NAME CMD [ARGS]`: one QMP command, its answer as JSON;
 * with `--hmp`, an HMP command line through QMP's `human-monitor-command`,
 * its answer as text. Connects to the VM's QMP socket only: no login.
 */
import { connectQmp } from "@qemu-kvm/monitor";
import { EXIT } from "./exit-codes.js";
import { findRunningVm } from "./find-vm.js";
import type { MonitorInvocation } from "./invocation.js";
import { type CliIo, write } from "./io.js";
import { withHost } from "./target.js";

/** Connecting: QEMU greets at once, unless another client holds its (single) QMP connection. */
const CONNECT_TIMEOUT_MS = 10_000;

export async function runMonitor(invocation: MonitorInvocation, io: CliIo): Promise<number> {
  return withHost(invocation.target, io.env, io.signal, async (host) => {
    const connect = { signal: io.signal, timeoutMs: CONNECT_TIMEOUT_MS };
    const record = await findRunningVm(
      host,
      invocation.target.runtimeBase,
      invocation.name,
      connect,
    );
    const stream = await host.connectUnix(record.qmpPath, connect);
    const qmp = await connectQmp(stream, connect);
    try {
      const call = {
        signal: io.signal,
        ...(invocation.timeoutMs !== undefined ? { timeoutMs: invocation.timeoutMs } : {}),
      };
      if (invocation.hmp) {
        const text = await qmp.hmp(invocation.command, call);
        await write(io.stdout, text.endsWith("\n") || text === "" ? text : `${text}\n`);
      } else {
        const value = await qmp.executeUnchecked(invocation.command, invocation.arguments, call);
        await write(io.stdout, `${JSON.stringify(value, null, 2)}\n`);
      }
    } finally {
      await qmp.close().catch(() => qmp.destroy());
    }
    return EXIT.ok;
  });
}
