/** `-netdev` and its NIC `-device` for each `nets[]` entry; one netdev builder per backend type. */
import type { ResolvedNet } from "../spec/resolved-spec.js";
import { writeHostForward } from "../syntax/host-forward.js";
import { type OptionEntry, writeOptionList } from "../syntax/option-list.js";
import { known, onOff, placementEntries } from "./options.js";

type NetOf<T extends ResolvedNet["type"]> = Extract<ResolvedNet, { type: T }>;

/** The `-netdev` entries of one backend, and any argument it needs before (a chardev). */
interface Netdev {
  readonly before?: readonly string[];
  readonly entries: readonly OptionEntry[];
}

// Entries pushed one by one, not spread: this runs for every network of every spec built.
const NETDEVS: { readonly [T in ResolvedNet["type"]]: (net: NetOf<T>) => Netdev } = {
  user: (net) => {
    const entries: OptionEntry[] = [
      [undefined, "user"],
      ["id", net.netdevId],
    ];
    for (const forward of net.hostForwards) {
      const hostPort = known(forward.hostPort, forward.field);
      entries.push(["hostfwd", writeHostForward({ ...forward, hostPort })]);
    }
    return { entries };
  },
  tap: (net) => {
    const entries: OptionEntry[] = [
      [undefined, "tap"],
      ["id", net.netdevId],
    ];
    if (net.ifname !== undefined) entries.push(["ifname", net.ifname]);
    entries.push(["script", net.script ?? "no"], ["downscript", net.downscript ?? "no"]);
    if (net.vhost) entries.push(["vhost", "on"]);
    return { entries };
  },
  bridge: (net) => {
    const entries: OptionEntry[] = [
      [undefined, "bridge"],
      ["id", net.netdevId],
      ["br", net.bridge],
    ];
    if (net.helper !== undefined) entries.push(["helper", net.helper]);
    return { entries };
  },
  "vhost-user": (net) => {
    const chardev: OptionEntry[] = [
      [undefined, "socket"],
      ["id", net.chardevId],
      ["path", net.socketPath],
    ];
    if (net.server) chardev.push(["server", "on"], ["wait", "off"]);
    const entries: OptionEntry[] = [
      [undefined, "vhost-user"],
      ["id", net.netdevId],
      ["chardev", net.chardevId],
    ];
    if (net.vhostForce) entries.push(["vhostforce", "on"]);
    if (net.queues > 1) entries.push(["queues", String(net.queues)]);
    return { before: ["-chardev", writeOptionList(chardev)], entries };
  },
};

function nicEntries(net: ResolvedNet): OptionEntry[] {
  const device: OptionEntry[] = [
    [undefined, net.model],
    ["netdev", net.netdevId],
    ["id", net.nicId],
  ];
  if (net.mac !== undefined) device.push(["mac", net.mac]);
  for (const entry of placementEntries(net)) device.push(entry);
  if (net.disableModern !== undefined) device.push(["disable-modern", onOff(net.disableModern)]);
  if (net.romfile !== undefined) device.push(["romfile", net.romfile]);
  if (net.type === "vhost-user" && net.queues > 1) {
    const own = new Set(net.deviceProperties.map(([key]) => key));
    // Multiqueue needs the guest to see it: mq, and one MSI-X vector per queue plus config and control.
    if (!own.has("mq")) device.push(["mq", "on"]);
    if (!own.has("vectors")) device.push(["vectors", String(2 * net.queues + 2)]);
  }
  for (const entry of net.deviceProperties) device.push(entry);
  return device;
}

export function netArgs(net: ResolvedNet): string[] {
  const netdev = (NETDEVS[net.type] as (net: ResolvedNet) => Netdev)(net);
  const args = netdev.before ? [...netdev.before] : [];
  args.push(
    "-netdev",
    writeOptionList(netdev.entries),
    "-device",
    writeOptionList(nicEntries(net)),
  );
  return args;
}
