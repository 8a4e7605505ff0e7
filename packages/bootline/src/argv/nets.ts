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

const NETDEVS: { readonly [T in ResolvedNet["type"]]: (net: NetOf<T>) => Netdev } = {
  user: (net) => ({
    entries: [
      [undefined, "user"],
      ["id", net.netdevId],
      ...net.hostForwards.map(
        (forward): OptionEntry => [
          "hostfwd",
          writeHostForward({ ...forward, hostPort: known(forward.hostPort, forward.field) }),
        ],
      ),
    ],
  }),
  tap: (net) => ({
    entries: [
      [undefined, "tap"],
      ["id", net.netdevId],
      ...(net.ifname !== undefined ? ([["ifname", net.ifname]] as const) : []),
      ["script", net.script ?? "no"],
      ["downscript", net.downscript ?? "no"],
      ...(net.vhost ? ([["vhost", "on"]] as const) : []),
    ],
  }),
  bridge: (net) => ({
    entries: [
      [undefined, "bridge"],
      ["id", net.netdevId],
      ["br", net.bridge],
      ...(net.helper !== undefined ? ([["helper", net.helper]] as const) : []),
    ],
  }),
  "vhost-user": (net) => ({
    before: [
      "-chardev",
      writeOptionList([
        [undefined, "socket"],
        ["id", net.chardevId],
        ["path", net.socketPath],
        ...(net.server
          ? ([
              ["server", "on"],
              ["wait", "off"],
            ] as const)
          : []),
      ]),
    ],
    entries: [
      [undefined, "vhost-user"],
      ["id", net.netdevId],
      ["chardev", net.chardevId],
      ...(net.vhostForce ? ([["vhostforce", "on"]] as const) : []),
      ...(net.queues > 1 ? ([["queues", String(net.queues)]] as const) : []),
    ],
  }),
};

function nicEntries(net: ResolvedNet): OptionEntry[] {
  const device: OptionEntry[] = [
    [undefined, net.model],
    ["netdev", net.netdevId],
    ["id", net.nicId],
  ];
  if (net.mac !== undefined) device.push(["mac", net.mac]);
  device.push(...placementEntries(net));
  if (net.disableModern !== undefined) device.push(["disable-modern", onOff(net.disableModern)]);
  if (net.romfile !== undefined) device.push(["romfile", net.romfile]);
  const own = new Set(net.deviceProperties.map(([key]) => key));
  if (net.type === "vhost-user" && net.queues > 1) {
    // Multiqueue needs the guest to see it: mq, and one MSI-X vector per queue plus config and control.
    if (!own.has("mq")) device.push(["mq", "on"]);
    if (!own.has("vectors")) device.push(["vectors", String(2 * net.queues + 2)]);
  }
  device.push(...net.deviceProperties);
  return device;
}

export function netArgs(net: ResolvedNet): string[] {
  const netdev = (NETDEVS[net.type] as (net: ResolvedNet) => Netdev)(net);
  return [
    ...(netdev.before ?? []),
    "-netdev",
    writeOptionList(netdev.entries),
    "-device",
    writeOptionList(nicEntries(net)),
  ];
}
