import {
  type ControlChannel,
  type NetworkInterface,
  networkMatches,
  type WaitForNetworkOptions,
} from "./control-channel.js";
import { pause, withDeadline } from "./deadline.js";

/**
 * `waitForNetwork` for any channel: asks for the interfaces until they match,
 * pausing 100 ms, then twice as long each time, up to 1 s.
 */
export function pollNetwork(
  channel: Pick<ControlChannel, "networkInterfaces">,
  options: WaitForNetworkOptions,
  defaultTimeoutMs: number,
): Promise<NetworkInterface[]> {
  const what = options.address ?? "an IPv4 address";
  const where = options.interfaceName ? ` on ${options.interfaceName}` : "";
  return withDeadline(
    `waitForNetwork (${what}${where})`,
    options,
    defaultTimeoutMs,
    async (signal) => {
      let delayMs = 100;
      for (;;) {
        const interfaces = await channel.networkInterfaces({
          signal,
          timeoutMs: Number.POSITIVE_INFINITY,
        });
        if (networkMatches(interfaces, options)) return interfaces;
        await pause(delayMs, signal);
        delayMs = Math.min(delayMs * 2, 1_000);
      }
    },
  );
}
