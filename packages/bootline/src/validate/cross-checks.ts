/**
 * Checks across sections, once every section was read: two listeners on one
 * port, two users of one file or socket, two devices in one guest slot, two
 * NICs with one MAC, vhost-user without shared memory. A table of small checks.
 */
import { describeValue } from "@qemu-kvm/core";
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import { isWildcardAddress } from "../syntax/ip-address.js";
import type { Context } from "./context.js";

type Parts = Omit<ResolvedSpec, "extraArgs">;
type CrossCheck = (context: Context, spec: Parts) => void;

/** One port per protocol, unless both bind different specific addresses. */
const listenersApart: CrossCheck = ({ issues, listeners }) => {
  for (const [index, listener] of listeners.entries()) {
    const clash = listeners
      .slice(0, index)
      .find(
        (other) =>
          other.protocol === listener.protocol &&
          other.port === listener.port &&
          (other.host === listener.host ||
            isWildcardAddress(other.host) ||
            isWildcardAddress(listener.host)),
      );
    if (clash)
      issues.add(
        listener.field,
        `${listener.protocol} port ${listener.port} on ${listener.host} is already used by ${clash.field}`,
        "a port no other listener of this spec uses",
      );
  }
};

const filesApart: CrossCheck = ({ issues, files }) => {
  for (const [index, file] of files.entries()) {
    const clash = files.slice(0, index).find((other) => other.path === file.path);
    if (clash)
      issues.add(
        file.field,
        `${describeValue(file.path)} is already used by ${clash.field}`,
        "a path of its own",
      );
  }
};

const slotsApart: CrossCheck = ({ issues, slots }) => {
  for (const [index, slot] of slots.entries()) {
    const clash = slots.slice(0, index).find((other) => other.key === slot.key);
    if (clash)
      issues.add(
        slot.field,
        `this guest PCI slot is already taken by ${clash.field}`,
        "a free slot on that bus",
      );
  }
};

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
