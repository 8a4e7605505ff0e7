/**
 * `vm.start()`: leases → argv → private runtime directory → QEMU daemonized,
 * paused → leases transferred to QEMU → QMP → the console (or the agent's
 * port) → `cont` → the guest ready → its network → the PCI map. Every wait is
 * on something the VM says, with a deadline; a boot that misses its deadline
 * is stopped and tried once more with fresh leases.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  buildCommand,
  defaultEmulator,
  type SpecWarning,
  specFacts,
  specWarnings,
  type VmSpec,
} from "@qemu-kvm/bootline";
import type { SerialConsole } from "@qemu-kvm/control";
import { type CallOptions, Deadline, TimeoutError } from "@qemu-kvm/core";
import { openPool, type ResourcePool } from "@qemu-kvm/pool";
import { debug } from "../debug.js";
import { VmBootError, VmLaunchError } from "../errors.js";
import { defaultRuntimeBase, RUNTIME_FILES } from "../runtime/layout.js";
import { RECORD_FORMAT, RECORD_VERSION, type VmRecord } from "../runtime/record.js";
import { claimRuntimeDir, removeRuntimeDir, writeRecord } from "../runtime/runtime-dir.js";
import type { ResolvedVmOptions } from "../vm/options.js";
import { VmSession } from "../vm/session.js";
import { copyBootFiles } from "./boot-files.js";
import { agentOpened, consoleOf, openAgent, openConsole, openQmp } from "./channels.js";
import { killLeftover, launchQemu } from "./launch.js";
import { leaseFor } from "./leases.js";
import { type PciMapping, pciMapOf } from "./pci-map.js";
import { prepareSpec, type StartMode } from "./prepare.js";
import { type StartProgress, Timeline } from "./progress.js";

export interface StartOptions extends CallOptions {
  /** Called at each phase (synchronously; keep it quick). */
  onProgress?: (progress: StartProgress) => void;
  /** `quickStart` only: leave the vCPUs stopped (QMP `cont` later, e.g. `vm.qmp.execute("cont")`). */
  paused?: boolean;
}

/** What a start hands to the VM object. */
export interface Started {
  readonly session: VmSession;
  readonly pciMap: readonly PciMapping[];
  readonly timeline: Timeline;
  /** bootline's `specWarnings` of the spec as launched: listeners others can reach. */
  readonly warnings: readonly SpecWarning[];
}

/** How many times a launch is tried when a port turns out to be taken behind the pool's back. */
const PORT_ATTEMPTS = 3;

interface Attempt {
  readonly vm: ResolvedVmOptions;
  readonly mode: StartMode;
  readonly pool: ResourcePool;
  readonly ownsPool: boolean;
  readonly base: string;
  readonly spec: VmSpec;
  readonly uuid: string;
  readonly emulator: string;
  readonly timeline: Timeline;
  readonly deadline: Deadline;
  /** Quick start without `cont`. */
  readonly paused: boolean;
}

/** Starts the VM; on failure leaves nothing behind (process, files, leases, pool). */
export async function startVm(
  vm: ResolvedVmOptions,
  mode: StartMode,
  options: StartOptions,
): Promise<Started> {
  const paused = options.paused === true;
  const deadline = new Deadline(`start VM ${vm.name}`, options, {
    defaultTimeoutMs: 2 * vm.bootTimeoutMs + 120_000,
  });
  const timeline = new Timeline(vm.name, options.onProgress);
  const call = { signal: deadline.signal };
  let pool: ResourcePool | undefined = vm.pool;
  try {
    timeline.phase("leases", "opening the pool");
    pool ??= await deadline.race(openPool(vm.host, { ...vm.poolOptions }), (late) =>
      late.destroy(),
    );
    const base = vm.runtimeBase ?? (await deadline.race(defaultRuntimeBase(vm.host, call)));
    const emulator =
      vm.spec.emulator ?? defaultEmulator(await deadline.race(vm.host.architecture(call)));
    let spec = vm.spec;
    if (vm.bootFiles === "copy") {
      timeline.phase("boot-files");
      spec = await deadline.race(copyBootFiles(vm.host, base, spec, call));
    }
    const attempt: Attempt = {
      vm,
      mode,
      pool,
      ownsPool: !vm.pool,
      base,
      spec,
      uuid: vm.spec.uuid ?? randomUUID(),
      emulator,
      timeline,
      deadline,
      paused,
    };
    for (;;) {
      try {
        return await deadline.race(bootOnce(attempt));
      } catch (error) {
        if (!VmBootError.isInstance(error) || timeline.attempt > 1) throw error;
        timeline.attempt++;
        timeline.phase(
          "retry",
          `not ready after ${vm.bootTimeoutMs} ms: once more, with fresh leases`,
        );
      }
    }
  } catch (error) {
    if (pool && !vm.pool) await pool.close().catch(() => pool?.destroy());
    throw error;
  } finally {
    deadline.dispose();
  }
}

/** One boot: everything it made is undone if it fails. */
async function bootOnce(attempt: Attempt): Promise<Started> {
  const { vm, timeline, deadline, pool } = attempt;
  const host = vm.host;
  const call = { signal: deadline.signal };
  timeline.phase("runtime-dir");
  const runtimeDir = await claimRuntimeDir(host, attempt.base, vm.name, call);
  const pidfile = `${runtimeDir}/${RUNTIME_FILES.pidfile}`;
  let session: VmSession | undefined;
  let launched = false;
  try {
    const prepared = prepareSpec(attempt.spec, {
      runtimeDir,
      control: vm.control,
      uuid: attempt.uuid,
      emulator: attempt.emulator,
      mode: attempt.mode,
    });
    const warnings = specWarnings(prepared);
    const { spec, qemu } = await launchWithLeases(attempt, prepared, pidfile);
    launched = true;
    const facts = specFacts(spec);
    const record = recordOf(attempt, spec, facts, qemu, runtimeDir);
    timeline.phase("qmp");
    // Independent of each other: the leases move to QEMU while its record is written
    // and its monitor and console are connected.
    const consoleWanted = vm.control !== "agent" && attempt.mode !== "incoming";
    const [, , qmp, serial] = await settleAll([
      pool.transfer(vm.name, { pid: qemu.pid, startTime: qemu.startTime }, call),
      writeRecord(host, record, call),
      openQmp(host, record, call),
      consoleWanted ? openConsole(host, record, vm.login, call) : Promise.resolve(undefined),
    ] as const);
    session = new VmSession({ host, record, qmp, pool, ownsPool: attempt.ownsPool });
    if (serial) {
      timeline.phase("console");
      session.console = serial;
    }
    if (attempt.mode === "incoming" || attempt.paused)
      return { session, pciMap: [], timeline, warnings };
    const opened = vm.control === "agent" ? agentOpened(qmp, call) : undefined;
    await qmp.execute("cont", undefined, call);
    if (attempt.mode === "quick") return { session, pciMap: [], timeline, warnings };
    await waitForGuest(attempt, session, opened);
    session.guestReady = true;
    timeline.phase("pci-map");
    const pciMap = await pciMapOf(qmp, facts, call);
    timeline.phase("ready");
    return { session, pciMap, timeline, warnings };
  } catch (error) {
    await abandon(attempt, session, launched, pidfile, runtimeDir);
    throw error;
  }
}

/**
 * The console's `ready()` (login, UUID check), with the `login` phase marked when the
 * login prompt shows (watched without consuming it), so the timeline tells the boot from
 * the login. A console that never shows one (already logged in) goes straight to ready.
 */
async function loginObserved(
  serial: SerialConsole,
  timeline: Timeline,
  call: { signal: AbortSignal },
): Promise<void> {
  const watch = new AbortController();
  const prompt = serial
    .waitForOutput(LOGIN_PROMPT, {
      signal: AbortSignal.any([call.signal, watch.signal]),
      timeoutMs: Infinity,
    })
    .then(
      () => timeline.phase("login"),
      () => undefined,
    );
  try {
    await serial.ready(call);
  } finally {
    watch.abort();
    await prompt;
  }
}

/** The login prompt as the console's `login()` looks for it (control's default). */
const LOGIN_PROMPT = /login: *$/;

/**
 * `Promise.all` that waits for every promise before rejecting, and closes what
 * succeeded when another failed (a QMP client or console left open would leak).
 */
async function settleAll<const T extends readonly Promise<unknown>[]>(
  promises: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === "rejected");
  if (failed) {
    for (const result of results)
      if (
        result.status === "fulfilled" &&
        result.value &&
        typeof result.value === "object" &&
        "destroy" in result.value
      )
        (result.value as { destroy(): void }).destroy();
    throw failed.reason;
  }
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as never;
}

/** Leases, then launches; when QEMU finds a port taken behind the pool's back, leases others. */
async function launchWithLeases(attempt: Attempt, prepared: VmSpec, pidfile: string) {
  const { vm, timeline, deadline, pool } = attempt;
  const call = { signal: deadline.signal };
  for (let tries = 1; ; tries++) {
    timeline.phase("leases");
    // Earlier leases stay with the owner: the pool then hands out other ports.
    const spec = await leaseFor(pool, vm.name, prepared, call);
    const command = buildCommand(spec);
    timeline.phase("launch");
    try {
      return { spec, qemu: await launchQemu(vm.host, vm.name, command, pidfile, call) };
    } catch (error) {
      if (!(VmLaunchError.isInstance(error) && error.portBusy && tries < PORT_ATTEMPTS))
        throw error;
      debug("start %s: %s", vm.name, error.message);
      timeline.phase("leases", "a port was taken outside the pool: leasing others");
    }
  }
}

function recordOf(
  attempt: Attempt,
  spec: VmSpec,
  facts: ReturnType<typeof specFacts>,
  qemu: { pid: number; startTime: bigint; argv: readonly string[] },
  runtimeDir: string,
): VmRecord {
  const { vm } = attempt;
  const qmpPath =
    facts.qmp[0]?.type === "unix" ? facts.qmp[0].path : `${runtimeDir}/${RUNTIME_FILES.qmp}`;
  const console = consoleOf(facts);
  const agent = facts.guestAgent?.type === "unix" ? facts.guestAgent.path : undefined;
  const sshPort = vm.guestSsh.port ?? 22;
  const forward = facts.hostForwards.find((f) => f.guestPort === sshPort && f.protocol === "tcp");
  return {
    format: RECORD_FORMAT,
    version: RECORD_VERSION,
    name: vm.name,
    uuid: spec.uuid ?? attempt.uuid,
    pid: qemu.pid,
    startTime: String(qemu.startTime),
    argv: qemu.argv,
    runtimeDir,
    qmpPath,
    control: vm.control,
    mode: attempt.mode,
    ...(console ? { console } : {}),
    ...(agent ? { agentPath: agent } : {}),
    ...(forward ? { ssh: { host: connectable(forward.hostAddress), port: forward.hostPort } } : {}),
    ...(vm.poolOptions?.stateDir ? { poolStateDir: vm.poolOptions.stateDir } : {}),
    createdAt: new Date().toISOString(),
    createdBy: { machine: hostname(), pid: process.pid },
  };
}

/** Where to connect to a listener bound to `address` (a wildcard is reached on loopback). */
function connectable(address: string): string {
  return address === "0.0.0.0" || address === "" ? "127.0.0.1" : address === "::" ? "::1" : address;
}

/** Ready over the control channel, then the network, within one boot deadline. */
async function waitForGuest(
  attempt: Attempt,
  session: VmSession,
  opened: Promise<unknown> | undefined,
): Promise<void> {
  const { vm, timeline, deadline } = attempt;
  const boot = new Deadline(`boot VM ${vm.name}`, {
    signal: deadline.signal,
    timeoutMs: Math.min(vm.bootTimeoutMs, deadline.remainingMs()),
  });
  const call = { signal: boot.signal };
  try {
    timeline.phase("boot");
    if (session.console) {
      await session.guard("login", loginObserved(session.console, timeline, call));
    } else {
      timeline.phase("agent");
      session.agent = await session.guard(
        "agent",
        openAgent(vm.host, session.record, opened, call),
      );
      await session.guard("agent", session.agent.ready(call));
    }
    if (vm.network !== false) {
      timeline.phase("network");
      await session.guard("network", session.channel!.waitForNetwork({ ...vm.network, ...call }));
    }
  } catch (error) {
    if (boot.stopReason?.kind !== "timeout" && !TimeoutError.isInstance(error)) throw error;
    throw new VmBootError({
      vm: vm.name,
      attempts: timeline.attempt,
      transcript: await transcriptOf(session),
      cause: error,
    });
  } finally {
    boot.dispose();
  }
}

/** The end of what the guest printed: the console's transcript, or the serial log QEMU wrote. */
async function transcriptOf(session: VmSession): Promise<string> {
  if (session.console) return session.console.transcript(16 * 1024);
  const log = `${session.record.runtimeDir}/${RUNTIME_FILES.serialLog}`;
  const text = await session.host
    .readFile(log, { encoding: "utf8", timeoutMs: 10_000 })
    .catch(() => "");
  return text.slice(-16 * 1024);
}

/** Undoes a failed boot: connections, QEMU, files, leases. Never throws. */
async function abandon(
  attempt: Attempt,
  session: VmSession | undefined,
  launched: boolean,
  pidfile: string,
  runtimeDir: string,
): Promise<void> {
  const { vm, pool } = attempt;
  const host = vm.host;
  const call = { timeoutMs: 30_000 };
  if (session) {
    session.stopping = true;
    session.destroy();
  }
  if (launched || session) await killLeftover(host, pidfile, runtimeDir);
  await removeRuntimeDir(host, runtimeDir, call).catch((error: unknown) =>
    debug("start %s: could not remove %s: %s", vm.name, runtimeDir, (error as Error).message),
  );
  await pool
    .release(vm.name, call)
    .catch((error: unknown) =>
      debug("start %s: could not release the leases: %s", vm.name, (error as Error).message),
    );
}
