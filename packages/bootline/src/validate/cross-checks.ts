/**
 * Checks across sections, once every section was read: two listeners on one
 * port, two users of one file or socket, two devices in one guest slot, two
 * NICs with one MAC, vhost-user without shared memory. A table of small checks.
 */
import { describeValue } from "@qemu-kvm/core";
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import { canonicalAddress, isWildcardAddress } from "../syntax/ip-address.js";
import type { Context } from "./context.js";

type Parts = Omit<ResolvedSpec, "extraArgs">;
type CrossCheck = (context: Context, spec: Parts) => void;

/**
 * One port per protocol, unless both bind different specific addresses (an address
 * however written: `::1` is `0:0:0:0:0:0:0:1`, `::ffff:127.0.0.1` is `127.0.0.1`;
 * every interface includes them all). Linear: the listeners of each protocol and
 * port are looked up, not searched.
 */
const listenersApart: CrossCheck = ({ issues, listeners }) => {
  /** Per `protocol/port`: the first listener, the first on every interface, and each address's. */
  const ports = new Map<string, { first: string; wildcard?: string; hosts: Map<string, string> }>();
  for (const listener of listeners) {
    const key = `${listener.protocol}/${listener.port}`;
    const host = canonicalAddress(listener.host);
    const wildcard = isWildcardAddress(host);
    const port = ports.get(key);
    if (!port) {
      ports.set(key, {
        first: listener.field,
        ...(wildcard ? { wildcard: listener.field } : {}),
        hosts: new Map([[host, listener.field]]),
      });
      continue;
    }
    const clash = wildcard ? port.first : (port.wildcard ?? port.hosts.get(host));
    if (clash === undefined) {
      port.hosts.set(host, listener.field);
      continue;
    }
    issues.add(
      listener.field,
      `${listener.protocol} port ${listener.port} on ${listener.host} is already used by ${clash}`,
      "a port no other listener of this spec uses",
    );
  }
};

/** The first field that named each key: a later one is an issue (`message(first)`). */
function firstUsers(
  context: Context,
  entries: readonly { key: string; field: string }[],
  message: (key: string, first: string) => string,
  expected: string,
): void {
  const seen = new Map<string, string>();
  for (const { key, field } of entries) {
    const first = seen.get(key);
    if (first === undefined) seen.set(key, field);
    else context.issues.add(field, message(key, first), expected);
  }
}

const filesApart: CrossCheck = (context) =>
  firstUsers(
    context,
    context.files.map(({ path, field }) => ({ key: path, field })),
    (path, first) => `${describeValue(path)} is already used by ${first}`,
    "a path of its own",
  );

const slotsApart: CrossCheck = (context) =>
  firstUsers(
    context,
    context.slots,
    (_slot, first) => `this guest PCI slot is already taken by ${first}`,
    "a free slot on that bus",
  );

const macsApart: CrossCheck = ({ issues }, spec) => {
  const macs = new Map<string, number>();
  for (const net of spec.nets) {
    if (net.mac === undefined) continue;
    const other = macs.get(net.mac);
    if (other !== undefined)
      issues.add(
        `nets[${net.index}].mac`,
        `${net.mac} is already the MAC of nets[${other}]`,
        "a MAC of its own",
      );
    else macs.set(net.mac, net.index);
  }
};

/** vhost-user backends (network and crypto) map guest memory: it must be shared. */
const vhostUserMemoryShared: CrossCheck = ({ issues }, spec) => {
  if (spec.memory?.backend?.share === true) return;
  const users = [
    ...spec.nets.filter((net) => net.type === "vhost-user").map((net) => `nets[${net.index}]`),
    ...spec.crypto
      .filter((crypto) => crypto.backend === "vhost-user")
      .map((crypto) => `crypto[${crypto.index}]`),
  ];
  for (const path of users)
    issues.add(
      path,
      "vhost-user needs guest memory shared with its backend",
      'memory.backend { type: "file" | "memfd", share: true }',
    );
};

const CROSS_CHECKS: readonly CrossCheck[] = [
  listenersApart,
  filesApart,
  slotsApart,
  macsApart,
  vhostUserMemoryShared,
];

export function crossChecks(context: Context, spec: Parts): void {
  for (const check of CROSS_CHECKS) check(context, spec);
}
