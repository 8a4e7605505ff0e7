import { debugLog, OperationChannel } from "@qemu-kvm/core";

/** `NODE_DEBUG=qemu-kvm:monitor` (or `qemu-kvm`); this package never writes to stdout or stderr. */
export const debug = debugLog("monitor");

/**
 * `qemu-kvm:monitor` on `node:diagnostics_channel`: `connect` (target `qmp` or
 * `hmp`), each QMP command (`qmp`, target the command name) and each HMP
 * command (`hmp`, target the command's first word).
 */
export const operations = new OperationChannel("monitor");
