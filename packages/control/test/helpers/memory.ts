import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * Bytes of Buffers (array buffers) still reachable after a full garbage
 * collection: what a client really holds, whatever garbage it made.
 */
export function retainedBufferBytes(): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}
