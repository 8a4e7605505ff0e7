/**
 * `nets[]`: each entry is a backend (`-netdev`) and its NIC (`-device`). The NIC
 * options are common; each backend type has its own reader, in a table.
 */
import { describeValue } from "@qemu-kvm/core";
import type { ResolvedNet } from "../spec/resolved-spec.js";
import { ids } from "../syntax/ids.js";
import { MAX_UNIX_SOCKET_PATH_BYTES, utf8Length } from "../syntax/unix-socket.js";
import { absolutePath, type Context, MODEL_NAME, placement, properties } from "./context.js";
import { readForwards } from "./forwards.js";
import { field, isPlainObject, Reader } from "./reader.js";

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

const NIC_FIELDS = [
  "model",
  "mac",
  "pciAddress",
  "bus",
  "disableModern",
  "romfile",
  "deviceProperties",
];
const NIC_RESERVED = ["id", "netdev", "mac", "addr", "bus", "disable-modern", "driver"];

/** What every entry has, whatever its backend: ids, the NIC model and its options. */
type NicCommon = Omit<Extract<ResolvedNet, { type: "user" }>, "type" | "hostForwards">;

/** An entry being read: the NIC's fields, to which its backend reader adds its own. */
type NetDraft<T extends object> = {
  -readonly [K in keyof T]: T[K];
};

/**
 * Reads the backend fields of one type and completes the entry by assigning them
 * to it (not by spreading: this runs for every network of every spec built);
 * undefined when the entry cannot be built.
 */
type BackendReader = (
  context: Context,
  reader: Reader,
  nic: NetDraft<NicCommon>,
) => ResolvedNet | undefined;

interface BackendType {
  readonly fields: readonly string[];
  readonly read: BackendReader;
}

const readTap: BackendReader = (_context, reader, nic) => {
  const ifname = reader.string("ifname", {
    test: (v) => INTERFACE_NAME.test(v),
    expected: "an interface name of 1–15 letters, digits, '_', '.', '-'",
  });
  const script = absolutePath(reader, "script");
  const downscript = absolutePath(reader, "downscript");
  const net = nic as NetDraft<Extract<ResolvedNet, { type: "tap" }>>;
  net.type = "tap";
  if (ifname !== undefined) net.ifname = ifname;
  if (script !== undefined) net.script = script;
  if (downscript !== undefined) net.downscript = downscript;
  net.vhost = reader.boolean("vhost") ?? false;
  return net;
};

const readBridge: BackendReader = (_context, reader, nic) => {
  const bridge = reader.string("bridge", {
    required: true,
    test: (v) => INTERFACE_NAME.test(v),
    expected: "a bridge name such as br0",
  });
  const helper = absolutePath(reader, "helper");
  if (bridge === undefined) return undefined;
  const net = nic as NetDraft<Extract<ResolvedNet, { type: "bridge" }>>;
  net.type = "bridge";
  net.bridge = bridge;
  if (helper !== undefined) net.helper = helper;
  return net;
};

const readVhostUser: BackendReader = (context, reader, nic) => {
  if (!nic.model.startsWith("virtio-net"))
    context.issues.add(
      reader.at("model"),
      `vhost-user needs a virtio-net NIC, not ${nic.model}`,
      "virtio-net-pci",
    );
  const socketPath = reader.string("socketPath", {
    required: true,
    test: (v) => v.startsWith("/"),
    expected: "an absolute unix socket path",
  });
  if (socketPath !== undefined) {
    const bytes = utf8Length(socketPath);
    if (bytes > MAX_UNIX_SOCKET_PATH_BYTES)
      context.issues.add(
        reader.at("socketPath"),
        `unix socket path is ${bytes} bytes long`,
        `at most ${MAX_UNIX_SOCKET_PATH_BYTES} bytes`,
      );
    context.files.push({ path: socketPath, field: reader.at("socketPath") });
  }
  const queues = reader.integer("queues", 1, 1024) ?? 1;
  const server = reader.boolean("server") ?? false;
  const vhostForce = reader.boolean("vhostForce") ?? true;
  if (socketPath === undefined) return undefined;
  const net = nic as NetDraft<Extract<ResolvedNet, { type: "vhost-user" }>>;
  net.type = "vhost-user";
  net.chardevId = ids.netChardev(nic.index);
  net.socketPath = socketPath;
  net.server = server;
  net.queues = queues;
  net.vhostForce = vhostForce;
  return net;
};

const BACKENDS: Readonly<Record<ResolvedNet["type"], BackendType>> = {
  user: {
    fields: ["hostForwards"],
    read: (context, reader, nic) => {
      const net = nic as NetDraft<Extract<ResolvedNet, { type: "user" }>>;
      net.type = "user";
      net.hostForwards = readForwards(context, reader);
      return net;
    },
  },
  tap: { fields: ["ifname", "script", "downscript", "vhost"], read: readTap },
  bridge: { fields: ["bridge", "helper"], read: readBridge },
  "vhost-user": {
    fields: ["socketPath", "server", "queues", "vhostForce"],
    read: readVhostUser,
  },
};

/** The NIC (guest device) options every entry has. */
function readNic(context: Context, reader: Reader, index: number): NetDraft<NicCommon> {
  const model =
    reader.string("model", {
      test: (v) => MODEL_NAME.test(v) && v !== "virtio",
      expected:
        reader.raw("model") === "virtio"
          ? "virtio-net-pci (QEMU has no device named virtio)"
          : "a NIC model such as virtio-net-pci, e1000, e1000e, rtl8139",
    }) ?? "virtio-net-pci";
  const mac = reader.string("mac", {
    test: (v) => MAC.test(v),
    expected: "a MAC address xx:xx:xx:xx:xx:xx",
  });
  if (mac !== undefined && (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1)
    context.issues.add(
      reader.at("mac"),
      `${mac} is a multicast address`,
      "a unicast MAC (first octet even)",
    );
  const where = placement(context, reader, "pciAddress", "bus");
  const disableModern = reader.boolean("disableModern");
  if (disableModern !== undefined && !model.startsWith("virtio-net"))
    context.issues.add(
      reader.at("disableModern"),
      `applies to virtio NICs only, not ${model}`,
      "a virtio-net model",
    );
  // "" is meaningful: no option ROM at all.
  const romfile = reader.string("romfile", {
    allowEmpty: true,
    expected: 'an option ROM file, or "" for none',
  });
  const deviceProperties = properties(reader, "deviceProperties", NIC_RESERVED);
  // deviceProperties.romfile predates the field: either is fine, both is ambiguous.
  if (romfile !== undefined && deviceProperties.some(([key]) => key === "romfile"))
    context.issues.add(
      field(reader.at("deviceProperties"), "romfile"),
      "is given twice: also as the NIC's romfile",
      "romfile or deviceProperties.romfile, not both",
    );
  const nic: NetDraft<NicCommon> = {
    index,
    netdevId: ids.netdev(index),
    nicId: ids.nic(index),
    model,
    deviceProperties,
  };
  if (mac !== undefined) nic.mac = mac.toLowerCase();
  if (where.slot) nic.slot = where.slot;
  if (where.bus !== undefined) nic.bus = where.bus;
  if (disableModern !== undefined) nic.disableModern = disableModern;
  if (romfile !== undefined) nic.romfile = romfile;
  return nic;
}

/** `nets[index]`: its type picks the backend reader and the fields it may have. */
export function readNet(
  context: Context,
  value: unknown,
  path: string,
  index: number,
): ResolvedNet | undefined {
  const type = isPlainObject(value) ? value.type : undefined;
  const backend =
    typeof type === "string" && Object.hasOwn(BACKENDS, type)
      ? BACKENDS[type as ResolvedNet["type"]]
      : undefined;
  if (!backend) {
    if (isPlainObject(value))
      context.issues.add(
        field(path, "type"),
        `is ${describeValue(type)}`,
        '"user", "tap", "bridge" or "vhost-user"',
      );
    else context.issues.add(path, `is ${describeValue(value)}`, "an object");
    return undefined;
  }
  const reader = Reader.open(context.issues, value, path, [
    "type",
    ...NIC_FIELDS,
    ...backend.fields,
  ]);
  if (!reader) return undefined;
  return backend.read(context, reader, readNic(context, reader, index));
}
