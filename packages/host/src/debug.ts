import { debuglog } from "node:util";

/** Debug output, off unless `NODE_DEBUG=qemu-kvm`. Never secrets: no passwords, keys, input or env values. */
export const debug = debuglog("qemu-kvm");
