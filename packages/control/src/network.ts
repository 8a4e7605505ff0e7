import { checkCallOptions, delay, InvalidArgumentError, withDeadline } from "@qemu-kvm/core";
import type { ControlChannel, NetworkInterface, WaitForNetworkOptions } from "./control-channel.js";

/** True when `interfaces` satisfy `options` (see `waitForNetwork`). */
export function networkMatches(
  interfaces: readonly NetworkInterface[],
  options: Pick<WaitForNetworkOptions, "address" | "interfaceName">,
): boolean {
  return interfaces.some(
    (item) =>
      (options.interfaceName === undefined || item.name === options.interfaceName) &&
      item.addresses.some((address) =>
        options.address !== undefined
          ? address.address === options.address
          : address.family === "ipv4" && !address.address.startsWith("127."),
      ),
  );
}

/**
 * Parses `ip -o link show` followed by `ip -o addr show` (iproute2 or
 * busybox), one record per line. Interfaces come in link order; an address of
 * an interface missing from the link lines adds it.
 */
export function parseIpOutput(text: string): NetworkInterface[] {
  const byName = new Map<string, NetworkInterface>();
  const get = (name: string) => {
    let item = byName.get(name);
    if (!item) {
      item = { name, macAddress: undefined, addresses: [] };
      byName.set(name, item);
    }
    return item;
  };
  for (const line of text.split("\n")) {
    // `2: eth0: <BROADCAST,…> mtu 1500 … \    link/ether 52:54:00:12:34:56 brd …`
    const link =
      /^\d+:\s+([^\s:@]+)(?:@[^\s:]+)?:\s+<[^>]*>.*?link\/\S+(?:\s+([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}))?/.exec(
        line,
      );
    if (link) {
      const item = get(link[1]!);
      if (link[2] && !/^(00:){5}00$/.test(link[2])) item.macAddress = link[2].toLowerCase();
      continue;
    }
    // `2: eth0    inet 10.0.2.15/24 brd … scope global eth0\       valid_lft …`
    const address = /^\d+:\s+([^\s@]+)\s+(inet6?)\s+([0-9a-fA-F:.]+)\/(\d+)/.exec(line);
    if (address) {
      get(address[1]!).addresses.push({
        family: address[2] === "inet6" ? "ipv6" : "ipv4",
        address: address[3]!,
        prefixLength: Number(address[4]),
      });
    }
  }
  return [...byName.values()];
}

/**
 * `waitForNetwork` for any channel: asks for the interfaces until they match,
 * pausing 100 ms, then twice as long each time, up to 1 s.
 */
export function pollNetwork(
  channel: Pick<ControlChannel, "networkInterfaces">,
  options: WaitForNetworkOptions | undefined,
  defaultTimeoutMs: number,
): Promise<NetworkInterface[]> {
  const checked = checkCallOptions(options, ["address", "interfaceName"]);
  for (const key of ["address", "interfaceName"] as const) {
    const value = checked[key];
    if (value !== undefined && (typeof value !== "string" || value.length === 0))
      throw new InvalidArgumentError(`options.${key}`, "a non-empty string", value);
  }
  const what = checked.address ?? "an IPv4 address";
  const where = checked.interfaceName ? ` on ${checked.interfaceName}` : "";
  return withDeadline(
    `waitForNetwork (${what}${where})`,
    checked,
    { defaultTimeoutMs },
    async (signal) => {
      let delayMs = 100;
      for (;;) {
        const interfaces = await channel.networkInterfaces({
          signal,
          timeoutMs: Number.POSITIVE_INFINITY,
        });
        if (networkMatches(interfaces, checked)) return interfaces;
        await delay(delayMs, signal);
        delayMs = Math.min(delayMs * 2, 1_000);
      }
    },
  );
}
