/**
 * The controller's memory: what this process holds for its VMs, on the V8 heap
 * (objects) and outside it (Buffers, ArrayBuffers), after a full garbage
 * collection so that only what is still referenced counts.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * A function that runs a full garbage collection: `globalThis.gc` when Node
 * runs with `--expose-gc`, else the one V8 hands to a new context once the
 * flag is set at run time (so `pnpm bench` needs no extra Node flag).
 */
export function exposeGc(): () => void {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === "function") return existing as () => void;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** What is counted: the JS heap in use plus memory held outside it by JS objects. */
export function controllerBytes(usage: Pick<NodeJS.MemoryUsage, "heapUsed" | "external">): number {
  return usage.heapUsed + usage.external;
}

/** The growth from `beforeBytes` to `afterBytes`, per VM, in KiB. */
export function perVmKiB(beforeBytes: number, afterBytes: number, vms: number): number {
  if (!Number.isInteger(vms) || vms < 1)
    throw new RangeError(`vms must be a positive integer: ${vms}`);
  return (afterBytes - beforeBytes) / vms / 1024;
}

/**
 * `controllerBytes` after two full collections, each followed by a turn of the
 * event loop (Buffers' memory is given back by callbacks that run after the
 * collection).
 */
export async function settledBytes(gc: () => void): Promise<number> {
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return controllerBytes(process.memoryUsage());
}
