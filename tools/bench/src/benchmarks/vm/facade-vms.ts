/**
 * The subjects' side of the vm benchmark: the test guest as a facade VM (as the
 * facade's own tests boot it), and `FacadeVms`, which stops every VM it made,
 * also on failure.
 */
import { guestVmSpec, type TestGuest } from "@qemu-kvm/test-guest";
import {
  type CreateVmOptions,
  createVm,
  type StopOptions,
  type StopResult,
  type Vm,
} from "qemu-kvm";
import type { VmTemplate } from "./argv.js";

/** The test guest as a spec, as the facade's own tests boot it. */
export const guestSpec = guestVmSpec;

/** What a started VM ran, for the bare baselines to run the same. */
export function templateOf(vm: Vm): VmTemplate {
  const record = vm.record;
  if (!record) throw new Error(`VM ${vm.name} has not started`);
  if (record.console?.type !== "unix") throw new Error(`VM ${vm.name} has no unix console`);
  return {
    argv: record.argv,
    runtimeDir: record.runtimeDir,
    qmpPath: record.qmpPath,
    serialPath: record.console.path,
  };
}

/** The first rejection among `results`, thrown; nothing if all were fulfilled. */
export function throwFirstFailure(results: readonly PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Every facade VM made for the benchmark, until it is stopped. */
export class FacadeVms {
  readonly #guest: TestGuest;
  readonly #base: Omit<CreateVmOptions, "spec">;
  readonly #live = new Set<Vm>();

  /** `base`: the options every VM gets (host, login, runtime base, pool…). */
  constructor(guest: TestGuest, base: Omit<CreateVmOptions, "spec">) {
    this.#guest = guest;
    this.#base = base;
  }

  create(name: string, extra: Omit<CreateVmOptions, "spec" | "host"> = {}): Vm {
    const vm = createVm({ ...this.#base, ...extra, spec: guestSpec(this.#guest, name) });
    this.#live.add(vm);
    return vm;
  }

  /** Stops `vm`; it stays tracked (and is stopped again at teardown) if that fails. */
  async stop(vm: Vm, options?: StopOptions): Promise<StopResult> {
    const result = await vm.stop(options);
    this.#live.delete(vm);
    return result;
  }

  /**
   * Starts `names` at once, paused (`quickStart({ paused: true })`); if one
   * fails, all are stopped. `doneMs[i]`: when VM i was started, in ms since the call.
   */
  async startPaused(
    names: readonly string[],
    extra: Omit<CreateVmOptions, "spec" | "host">,
    signal: AbortSignal,
  ): Promise<{ vms: Vm[]; doneMs: number[] }> {
    const began = performance.now();
    const vms = names.map((name) => this.create(name, extra));
    const doneMs: number[] = [];
    const results = await Promise.allSettled(
      vms.map(async (vm, index) => {
        await vm.quickStart({ paused: true, signal });
        doneMs[index] = performance.now() - began;
      }),
    );
    if (results.some((r) => r.status === "rejected")) {
      await this.stopAll(vms);
      throwFirstFailure(results);
    }
    return { vms, doneMs };
  }

  /** Stops `vms` (default: every VM still live) straight through QMP `quit`; the first failure is rethrown after all were tried. */
  async stopAll(vms: Iterable<Vm> = this.#live): Promise<void> {
    const results = await Promise.allSettled(
      [...vms].map((vm) => this.stop(vm, { guestTimeoutMs: 0 })),
    );
    throwFirstFailure(results);
  }
}
