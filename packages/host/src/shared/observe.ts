import { debugLog, OperationChannel } from "@qemu-kvm/core";

/**
 * Debug output, off unless `NODE_DEBUG=qemu-kvm` or `qemu-kvm:host`. Never
 * secrets: no passwords, keys, command input or environment values.
 */
export const debug = debugLog("host");

/**
 * The `qemu-kvm:host` diagnostics channel: a start and an end message around
 * each exec, spawn, SSH connection and file, socket and process operation.
 */
export const operations = new OperationChannel("host");
