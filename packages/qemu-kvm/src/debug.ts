import { debugLog, OperationChannel } from "@qemu-kvm/core";

/** `NODE_DEBUG=qemu-kvm:vm` (or `qemu-kvm`). */
export const debug = debugLog("vm");

/** The facade's operations (start, stop, exec, attach…) on the `qemu-kvm:vm` diagnostics channel. */
export const operations = new OperationChannel("vm");
