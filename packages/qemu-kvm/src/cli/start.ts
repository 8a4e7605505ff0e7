/** `qemu-kvm start FILE`: start a VM from a spec, then leave it running (detached). */

import type { Vm } from "../vm/vm.js";
import { createVm } from "../vm/vm.js";
import { EXIT } from "./exit-codes.js";
import type { StartInvocation } from "./invocation.js";
import { type CliIo, write, writeWarnings } from "./io.js";
import { loginOf } from "./login.js";
import { createProgress } from "./progress.js";
import { loadSpec } from "./spec-file.js";
import { poolOptionsOf, withHost } from "./target.js";

/** What `start --json` prints (stable field names: see the README). */
export interface StartSummary {
  readonly name: string;
  readonly pid: number;
  readonly uuid: string;
  readonly control: string;
  /** The host end of the guest's forwarded SSH port, or null. */
  readonly ssh: { readonly host: string; readonly port: number } | null;
  /** The serial console: a unix socket path, or a telnet `host:port`; null without one. */
  readonly console: string | null;
  readonly runtimeDir: string;
  /** `boot` (the guest was waited for) or `quick` (QEMU only). */
  readonly mode: string;
  readonly durationMs: number;
  /** Each phase of the start, and when it began (ms since the start). */
  readonly timeline: readonly { readonly phase: string; readonly elapsedMs: number }[];
}

function summaryOf(vm: Vm, durationMs: number): StartSummary {
  const record = vm.record!;
  const console = record.console;
  return {
    name: record.name,
    pid: record.pid,
    uuid: record.uuid,
    control: record.control,
    ssh: record.ssh ?? null,
    console: !console
      ? null
      : console.type === "unix"
        ? console.path
        : `${console.host}:${console.port}`,
    runtimeDir: record.runtimeDir,
    mode: record.mode,
    durationMs: Math.round(durationMs),
    timeline: vm.timeline.map(({ phase, elapsedMs }) => ({
      phase,
      elapsedMs: Math.round(elapsedMs),
    })),
  };
}

export function formatSummary(summary: StartSummary): string {
  const what =
    summary.mode === "quick" ? "QEMU runs (the guest was not waited for)" : "the guest is ready";
  const lines = [
    `${summary.name} started in ${(summary.durationMs / 1000).toFixed(2)} s: ${what}`,
    `  pid      ${summary.pid}`,
    `  ssh      ${summary.ssh ? `${summary.ssh.host}:${summary.ssh.port}` : "-"}`,
    `  console  ${summary.console ?? "-"} (qemu-kvm console ${summary.name})`,
    `  control  ${summary.control}`,
    `  runtime  ${summary.runtimeDir}`,
  ];
  return `${lines.join("\n")}\n`;
}

export async function runStart(invocation: StartInvocation, io: CliIo): Promise<number> {
  const { spec, dts } = await loadSpec(invocation.spec, "start");
  const login = await loginOf(invocation.login, io.env, "start");
  const poolOptions = poolOptionsOf(invocation.target);
  const runtimeBase = invocation.target.runtimeBase;
  return withHost(invocation.target, io.env, io.signal, async (host) => {
    const vm = createVm({
      host,
      ...(dts ? { dts } : { spec }),
      ...(invocation.spec.control ? { control: invocation.spec.control } : {}),
      login,
      ...(poolOptions ? { poolOptions } : {}),
      ...(runtimeBase ? { runtimeBase } : {}),
      // A VM without a NIC has no network to wait for.
      ...(spec.nets?.length ? {} : { network: false as const }),
    });
    const progress = createProgress(io.stderr, `${spec.name}: `);
    const started = performance.now();
    try {
      const options = {
        signal: io.signal,
        ...(invocation.timeoutMs !== undefined ? { timeoutMs: invocation.timeoutMs } : {}),
        onProgress: (step: {
          phase: string;
          elapsedMs: number;
          attempt: number;
          detail?: string;
        }) =>
          progress.phase(
            `${step.phase}${step.attempt > 1 ? ` (boot ${step.attempt})` : ""}${step.detail ? `: ${step.detail}` : ""}`,
            step.elapsedMs,
          ),
      };
      await (invocation.quick ? vm.quickStart(options) : vm.start(options));
    } finally {
      progress.done();
    }
    await writeWarnings(io, vm.warnings);
    const summary = summaryOf(vm, performance.now() - started);
    // The VM runs on: later verbs find it by name.
    await vm.detach();
    await write(
      io.stdout,
      invocation.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary),
    );
    return EXIT.ok;
  });
}
