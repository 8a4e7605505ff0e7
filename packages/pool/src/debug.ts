import { debuglog } from "node:util";

/** Debug output, off unless `NODE_DEBUG=qemu-kvm`. */
export const debug = debuglog("qemu-kvm");
