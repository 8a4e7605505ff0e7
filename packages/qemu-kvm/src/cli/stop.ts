/** `qemu-kvm stop NAME`: take the VM up, stop it by stages, say which stage ended it. */

import { attachVm } from "../vm/attach.js";
import type { StopResult, StopStage } from "../vm/stop.js";
import { EXIT } from "./exit-codes.js";
import type { StopInvocation } from "./invocation.js";
import { type CliIo, write } from "./io.js";
import { loginOf } from "./login.js";
import { poolOptionsOf, withHost } from "./target.js";

const STAGES: Record<StopStage | "not-running", string> = {
  guest: "the guest powered off when asked",
  acpi: "the guest powered off on the ACPI power button",
  quit: "QEMU quit when asked over QMP",
  sigterm: "QEMU ended on SIGTERM",
  sigkill: "QEMU was killed (SIGKILL)",
  "not-running": "it was not running",
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export function formatStop(name: string, result: StopResult): string {
  const lines = [`${name} stopped in ${seconds(result.durationMs)}: ${STAGES[result.stage]}`];
  if (result.stages.length > 1)
    for (const stage of result.stages)
      lines.push(`  ${stage.stage.padEnd(8)} ${stage.outcome} after ${seconds(stage.durationMs)}`);
  return `${lines.join("\n")}\n`;
}

export async function runStop(invocation: StopInvocation, io: CliIo): Promise<number> {
  const login = await loginOf(invocation.login, io.env, "stop");
  const poolOptions = poolOptionsOf(invocation.target);
  const runtimeBase = invocation.target.runtimeBase;
  return withHost(invocation.target, io.env, io.signal, async (host) => {
    const vm = await attachVm(host, invocation.name, {
      login,
      signal: io.signal,
      ...(poolOptions ? { poolOptions } : {}),
      ...(runtimeBase ? { runtimeBase } : {}),
    });
    // Not stopped by Ctrl-C: a stop half done is worse than one that finishes (each stage has its deadline).
    const result = await vm.stop({
      ...(invocation.timeoutMs !== undefined ? { timeoutMs: invocation.timeoutMs } : {}),
      ...(invocation.guestTimeoutMs !== undefined
        ? { guestTimeoutMs: invocation.guestTimeoutMs }
        : {}),
    });
    await write(io.stdout, formatStop(invocation.name, result));
    return EXIT.ok;
  });
}
