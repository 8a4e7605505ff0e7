/**
 * `qemu-kvm demo` (`pnpm demo`): the test guest built if needed, started
 * through the facade, logged in on its serial console, a few commands, the
 * guest agent's view, the guest over SSH (`vm.guest()`), the staged stop, and
 * the proof that nothing is left. Its VM lives in a private temporary
 * directory (runtime base and pool), removed at the end; the VM is stopped
 * also on a failure or Ctrl-C.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectGuestAgent } from "@qemu-kvm/control";
import { createLocalHost, type Host } from "@qemu-kvm/host";
import { openPool } from "@qemu-kvm/pool";
import { createVm, type Vm } from "../vm/vm.js";
import { demoSpec, loadTestGuest } from "./demo-guest.js";
import { DemoError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import type { DemoInvocation } from "./invocation.js";
import { type CliIo, write } from "./io.js";
import { createProgress } from "./progress.js";
import { formatError } from "./report.js";
import { formatStop } from "./stop.js";

const NAME = "demo";

/** Each line indented under its step. */
function indent(text: string, by = "   "): string {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => `${by}${line}`)
    .join("\n");
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Each phase of the start, when it began and how long it took. */
export function formatTimeline(timeline: Vm["timeline"]): string {
  const lines = timeline.map((entry, index) => {
    const next = timeline[index + 1];
    const took = next ? `  (${seconds(next.elapsedMs - entry.elapsedMs)})` : "";
    const detail = entry.detail ? `  ${entry.detail}` : "";
    return `${entry.phase.padEnd(12)} ${seconds(entry.elapsedMs).padStart(8)}${took}${detail}`;
  });
  return indent(lines.join("\n"));
}

/** The guest agent's view, on its own channel (the console is the control channel). */
async function agentView(host: Host, vm: Vm, signal: AbortSignal): Promise<string> {
  const path = vm.record?.agentPath;
  if (!path) return "(no guest agent channel)";
  const call = { signal, timeoutMs: 60_000 };
  const agent = await connectGuestAgent(await host.connectUnix(path, call), call);
  try {
    const info = await agent.info(call);
    const os = await agent.osInfo(call);
    const interfaces = await agent.networkInterfaces(call);
    const lines = [
      `qemu-ga ${info.version}; ${os.prettyName ?? os.name ?? "Linux"} ${os.kernelRelease ?? ""} (${os.machine ?? "?"})`,
      ...interfaces.map(
        (nic) =>
          `${nic.name.padEnd(6)} ${(nic.macAddress ?? "-").padEnd(17)}  ${nic.addresses
            .map((address) => `${address.address}/${address.prefixLength}`)
            .join("  ")}`,
      ),
    ];
    return lines.join("\n");
  } finally {
    await agent.close().catch(() => agent.destroy());
  }
}

/** Over SSH through the VM's forwarded port, with the host key read on the (trusted) console. */
async function sshView(vm: Vm, signal: AbortSignal): Promise<string> {
  const inside = await vm.guest({ signal, timeoutMs: 60_000 });
  try {
    const lines: string[] = [];
    for (const [file, args] of [
      ["id", []],
      ["cat", ["/sys/class/dmi/id/product_uuid"]],
    ] as const) {
      const { stdout } = await inside.exec(file, [...args], { signal, timeoutMs: 30_000 });
      lines.push(`$ ${[file, ...args].join(" ")}`, stdout.trimEnd());
    }
    lines.push(`(the guest's DMI UUID is the VM's: ${vm.uuid})`);
    return lines.join("\n");
  } finally {
    await inside.close().catch(() => inside.destroy());
  }
}

/** The VM's traces after its stop: no process, no runtime directory, no lease. Throws `ERR_VM_DEMO` otherwise. */
async function nothingLeft(
  host: Host,
  traces: { pid: number; runtimeDir: string },
  poolDir: string,
): Promise<string> {
  const left: string[] = [];
  if (await host.isAlive(traces.pid)) left.push(`QEMU (pid ${traces.pid}) still runs`);
  if (await host.exists(traces.runtimeDir)) left.push(`${traces.runtimeDir} is still there`);
  const pool = await openPool(host, { stateDir: poolDir });
  try {
    const owners = (await pool.leases()).owners;
    if (owners.length > 0) left.push(`the pool still has leases of ${owners.map((o) => o.owner)}`);
  } finally {
    await pool.close();
  }
  if (left.length > 0)
    throw new DemoError({
      message: `the stopped VM left something behind: ${left.join("; ")}`,
      hint: "this is a bug of qemu-kvm: please report it with this output",
    });
  return `QEMU pid ${traces.pid} is gone, ${traces.runtimeDir} is removed, the pool holds no lease`;
}

export async function runDemo(invocation: DemoInvocation, io: CliIo): Promise<number> {
  const { signal } = io;
  const out = (text: string) => write(io.stdout, `${text}\n`);
  const guests = await loadTestGuest();
  const progress = createProgress(io.stderr, "");
  const guest = await guests.ensureGuest({
    signal,
    onProgress: ({ message, elapsedMs }) => progress.phase(`test guest: ${message}`, elapsedMs),
  });
  progress.done();
  await out(
    `qemu-kvm demo: the test guest (Linux ${guest.kernelVersion}, a busybox initramfs) under QEMU with TCG\n   ${guest.directory}`,
  );
  const work = await mkdtemp(join(tmpdir(), "qemu-kvm-demo-"));
  const poolDir = join(work, "pool");
  const host = createLocalHost();
  let vm: Vm | undefined;
  try {
    vm = createVm({
      host,
      spec: demoSpec(guests, guest, NAME),
      login: { user: guest.credentials.user, password: guest.credentials.password },
      runtimeBase: join(work, "rt"),
      poolOptions: { stateDir: poolDir },
      network: { address: "10.0.2.15" },
    });
    await vm.start({
      signal,
      ...(invocation.timeoutMs !== undefined ? { timeoutMs: invocation.timeoutMs } : {}),
      onProgress: ({ phase, elapsedMs }) => progress.phase(`start: ${phase}`, elapsedMs),
    });
    progress.done();
    const total = vm.timeline.at(-1)?.elapsedMs ?? 0;
    await out(
      `\n1. start (q35, 256 MiB, virtio-net, serial console + guest agent): ready in ${seconds(total)}`,
    );
    await out(formatTimeline(vm.timeline));
    await out(
      `   pid ${vm.pid}, SSH at ${vm.sshAddress?.host}:${vm.sshAddress?.port}, runtime directory ${vm.runtimeDir}`,
    );

    await out(`\n2. on the serial console, logged in as ${guest.credentials.user}`);
    for (const command of ["uname -a", "ip address"]) {
      const { output, exitCode } = await vm.exec(command, { signal });
      await out(indent(`$ ${command}\n${output}${exitCode ? `(exit status ${exitCode})` : ""}`));
    }

    await out("\n3. the guest agent's view");
    await out(indent(await agentView(host, vm, signal)));

    await out(`\n4. over SSH: vm.guest(), through ${vm.sshAddress?.host}:${vm.sshAddress?.port}`);
    await out(indent(await sshView(vm, signal)));

    const traces = { pid: vm.pid!, runtimeDir: vm.runtimeDir! };
    const stopped = await vm.stop();
    await out(`\n5. stop\n${indent(formatStop(NAME, stopped))}`);
    await out(`\n6. nothing left\n${indent(await nothingLeft(host, traces, poolDir))}`);
  } finally {
    progress.done();
    // A failure or Ctrl-C on the way: the VM is stopped all the same (stop() of a stopped VM does nothing).
    if (vm)
      await vm
        .stop({ guestTimeoutMs: 5_000 })
        .catch((error: unknown) => write(io.stderr, formatError(error)));
    await host.close().catch(() => host.destroy());
    await rm(work, { recursive: true, force: true });
  }
  await out(`   and the demo's temporary directory ${work} is removed`);
  return EXIT.ok;
}
