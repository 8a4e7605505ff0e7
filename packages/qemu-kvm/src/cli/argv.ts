/**
 * `qemu-kvm argv FILE`: the QEMU command line `start` would run for the spec,
 * shell-quoted, without running anything: the spec as the facade prepares it
 * (its runtime directory, daemonized with a pidfile, QMP, the serial console,
 * paused until the controller is ready). Ports the spec leaves `"auto"` are
 * leased at start; here they are shown as the first of their pool range, and
 * stderr says so.
 */
import { randomUUID } from "node:crypto";
import {
  assignPorts,
  buildCommand,
  defaultEmulator,
  formatCommandLine,
  specWarnings,
  unassignedPorts,
  type VmSpec,
} from "@qemu-kvm/bootline";
import { createLocalHost } from "@qemu-kvm/host";
import { DEFAULT_PORT_RANGES } from "@qemu-kvm/pool";
import { defaultRuntimeBase, vmDir } from "../runtime/layout.js";
import type { ControlKind } from "../runtime/record.js";
import { prepareSpec } from "../start/prepare.js";
import { EXIT } from "./exit-codes.js";
import type { ArgvInvocation } from "./invocation.js";
import { type CliIo, write, writeWarnings } from "./io.js";
import { loadSpec } from "./spec-file.js";

const DTS_CONTROL: Record<string, ControlKind> = {
  qga: "agent",
  telnet: "serial-telnet",
  socket: "serial-unix",
};

/** The spec's `"auto"` ports filled from the start of each kind's default range, and what was filled. */
export function placeholderPorts(spec: VmSpec): { spec: VmSpec; filled: string[] } {
  const ports = unassignedPorts(spec);
  if (ports.length === 0) return { spec, filled: [] };
  const next = new Map<string, number>();
  const assigned: Record<string, number> = {};
  const filled: string[] = [];
  for (const port of ports) {
    const value = next.get(port.kind) ?? DEFAULT_PORT_RANGES[port.kind].from;
    next.set(port.kind, value + 1);
    assigned[port.field] = value;
    filled.push(
      `${port.field} is "auto" (a ${port.kind} port): shown as ${value}; start leases a free one from the pool`,
    );
  }
  return { spec: assignPorts(spec, assigned), filled };
}

export async function runArgv(invocation: ArgvInvocation, io: CliIo): Promise<number> {
  const { spec, dts } = await loadSpec(invocation.spec, "argv");
  const control =
    invocation.spec.control ?? (dts ? DTS_CONTROL[dts.control] : undefined) ?? "serial-unix";
  await using host = createLocalHost();
  const call = { signal: io.signal };
  const base = invocation.runtimeBase ?? (await defaultRuntimeBase(host, call));
  const emulator = spec.emulator ?? defaultEmulator(await host.architecture(call));
  const prepared = prepareSpec(spec, {
    runtimeDir: vmDir(base, spec.name),
    control,
    uuid: spec.uuid ?? randomUUID(),
    emulator,
    mode: spec.incoming ? "incoming" : "boot",
  });
  const { spec: shown, filled } = placeholderPorts(prepared);
  const command = buildCommand(shown);
  await write(io.stdout, `${formatCommandLine(command.file, command.args)}\n`);
  const notes = [
    ...(spec.uuid ? [] : ["-uuid is a fresh one: each start makes its own"]),
    ...filled,
  ];
  for (const note of notes) await write(io.stderr, `qemu-kvm: note: ${note}\n`);
  await writeWarnings(io, specWarnings(prepared));
  return EXIT.ok;
}
