/** `attachVm`: take up a VM another process (or an earlier run) started. */
import { type CallOptions, checkCallOptions, withDeadline } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { openPool, type PoolOptions, type ResourcePool } from "@qemu-kvm/pool";
import { VmNotFoundError } from "../errors.js";
import { defaultRuntimeBase, vmDir } from "../runtime/layout.js";
import { readRecord } from "../runtime/runtime-dir.js";
import { openAgent, openConsole, openQmp } from "../start/channels.js";
import type { GuestSshOptions, LoginOptions } from "./options.js";
import { resolveVmOptions } from "./options.js";
import { VmSession } from "./session.js";
import { Vm } from "./vm.js";

export interface AttachVmOptions extends CallOptions {
  /** The console login (the console is logged in again: a detaching controller logs out). */
  login?: LoginOptions;
  /** The pool its leases are in. Default: one opened on the host (with the VM's recorded state directory). */
  pool?: ResourcePool;
  poolOptions?: PoolOptions;
  runtimeBase?: string;
  guestSsh?: GuestSshOptions;
}

const KEYS = ["login", "pool", "poolOptions", "runtimeBase", "guestSsh"];

/**
 * The VM `name` on `host`, started by this library in any process: checks its
 * QEMU is still the recorded one (pid and start time), reconnects QMP and the
 * control channel (logging in again), and adopts its leases. Rejects with
 * `ERR_VM_NOT_FOUND` when there is no such VM running.
 */
export function attachVm(host: Host, name: string, options?: AttachVmOptions): Promise<Vm> {
  const checked = checkCallOptions(options, KEYS);
  const resolved = resolveVmOptions({
    host,
    spec: { name },
    ...(checked.login ? { login: checked.login } : {}),
    ...(checked.pool ? { pool: checked.pool } : {}),
    ...(checked.poolOptions ? { poolOptions: checked.poolOptions } : {}),
    ...(checked.runtimeBase ? { runtimeBase: checked.runtimeBase } : {}),
    ...(checked.guestSsh ? { guestSsh: checked.guestSsh } : {}),
  });
  return withDeadline(
    `attach VM ${name}`,
    checked,
    { defaultTimeoutMs: 120_000 },
    async (signal) => {
      const call = { signal };
      const base = resolved.runtimeBase ?? (await defaultRuntimeBase(host, call));
      const record = await readRecord(host, vmDir(base, name), call);
      if (!record)
        throw new VmNotFoundError({ vm: name, host: host.name, reason: "no record of it" });
      const info = await host.processInfo(record.pid, call);
      if (!info || info.state === "zombie" || String(info.startTime) !== record.startTime)
        throw new VmNotFoundError({
          vm: name,
          host: host.name,
          reason: `its QEMU (pid ${record.pid}) is gone`,
        });
      const qmp = await openQmp(host, record, call);
      const status = await qmp.queryStatus(call);
      const pool =
        resolved.pool ??
        (await openPool(host, {
          ...resolved.poolOptions,
          ...(record.poolStateDir ? { stateDir: record.poolStateDir } : {}),
        }));
      const session = new VmSession({ host, record, qmp, pool, ownsPool: !resolved.pool });
      try {
        await pool.adopt(name, call);
        if (record.control === "agent") {
          session.agent = await openAgent(host, record, undefined, call);
          await session.agent.ready(call);
          session.guestReady = true;
        } else if (record.console && record.mode !== "incoming") {
          session.console = await openConsole(host, record, resolved.login, call);
          if (status.running && record.mode === "boot") {
            await session.console.ready(call);
            session.guestReady = true;
          }
        }
      } catch (error) {
        session.stopping = true;
        session.destroy();
        if (!resolved.pool) await pool.close().catch(() => pool.destroy());
        throw error;
      }
      return new Vm(
        { ...resolved, control: record.control, attached: true },
        session,
        status.running ? "running" : "paused",
      );
    },
  );
}
