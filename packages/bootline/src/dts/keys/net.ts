/**
 * The `net` key: entries pair up 1+2, 3+4… as one NIC (`type=nic`) and one
 * backend (`type=user|tap|bridge`), as QEMUKvm paired them by a counter's parity.
 * One reader per entry type, in a table.
 */
import type { HostForward, NetSpec } from "../../spec/devices.js";
import { readHostForward } from "../../syntax/host-forward.js";
import type { KeyContext, KeyHandler } from "../draft.js";
import { type Entry, entryPrefix } from "../entries.js";

type Half = { kind: "nic"; nic: Partial<NetSpec> } | { kind: "backend"; backend: NetSpec };

/** Reads entry `index` of the key; undefined when it was reported. */
type EntryReader = (context: KeyContext, entry: Entry, index: number) => Half | undefined;

const IGNORED_VLAN = {
  opt_vlan: "QEMU dropped VLANs (hubs) in 3.0 and QEMUKvm never emitted it",
};

const readNic: EntryReader = ({ reader, key, draft }, entry, index) => {
  const where = entryPrefix(key, index);
  const allowed = ["type", "opt_model", "opt_macaddr", "opt_addr", "opt_vectors"];
  const special = {
    ignored: { ...IGNORED_VLAN, opt_name: "NIC ids are derived here (nicN)" },
    rejected: {
      netdev:
        "is not a sub-option of type=nic: QEMUKvm ignored it and paired each NIC with its neighbouring user/tap entry",
    },
  };
  if (!reader.only(key, entry, index, allowed, special, draft.notes)) return undefined;
  let model = entry.get("opt_model") || "e1000";
  if (model === "virtio") {
    model = "virtio-net-pci";
    draft.notes.push({
      key: key.key,
      message: `${where}opt_model=virtio mapped to virtio-net-pci (QEMUKvm emitted "-device virtio", which QEMU rejects)`,
    });
  }
  const nic: Record<string, unknown> = { model };
  const mac = entry.get("opt_macaddr");
  if (mac) nic.mac = mac;
  const addr = entry.get("opt_addr");
  if (addr) nic.pciAddress = addr;
  const vectors = reader.integer(
    key,
    "opt_vectors",
    entry.get("opt_vectors") || undefined,
    0,
    1024,
  );
  if (vectors !== undefined) nic.deviceProperties = { vectors };
  if (mac || addr || vectors !== undefined)
    draft.notes.push({
      key: key.key,
      message: `${where}opt_macaddr/opt_addr/opt_vectors are documented but QEMUKvm ignored them; applied here`,
    });
  return { kind: "nic", nic: nic as Partial<NetSpec> };
};

const readUser: EntryReader = ({ reader, key, draft, listenAddress }, entry, index) => {
  const where = entryPrefix(key, index);
  const allowed = ["type", "opt_hostfwd"];
  if (!reader.only(key, entry, index, allowed, { ignored: IGNORED_VLAN }, draft.notes))
    return undefined;
  const text = entry.get("opt_hostfwd") || "::-:";
  const parsed = readHostForward(text, {
    emptyHostAddress: listenAddress,
    emptyHostPort: "auto",
    emptyGuestPort: 22,
  });
  if ("error" in parsed) {
    reader.issue(
      key,
      `${where}opt_hostfwd: ${parsed.error} (expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)`,
    );
    return undefined;
  }
  if (!/^(tcp|udp)?:[0-9.]/.test(text))
    draft.notes.push({
      key: key.key,
      message: `${where}host forward binds ${listenAddress}, not the DUT's IP as in DTS (listenAddress option)`,
    });
  const forward: HostForward = parsed;
  return { kind: "backend", backend: { type: "user", hostForwards: [forward] } };
};

const readTapOrBridge: EntryReader = ({ reader, key, draft }, entry, index) => {
  const where = entryPrefix(key, index);
  const type = entry.get("type");
  const allowed =
    type === "tap" ? ["type", "opt_br", "opt_script", "opt_downscript"] : ["type", "opt_br"];
  if (!reader.only(key, entry, index, allowed, { ignored: IGNORED_VLAN }, draft.notes))
    return undefined;
  const script = entry.get("opt_script");
  const downscript = entry.get("opt_downscript");
  if (type === "tap" && script)
    return {
      kind: "backend",
      backend: { type: "tap", script, ...(downscript ? { downscript } : {}) },
    };
  const bridge = entry.get("opt_br") || "br0";
  draft.notes.push({
    key: key.key,
    message:
      type === "tap"
        ? `${where}tap on bridge ${bridge}: QEMU's bridge helper attaches it (allow it in /etc/qemu/bridge.conf) instead of a generated global /etc/qemu-ifup`
        : `${where}type=bridge emitted nothing in QEMUKvm; mapped to QEMU's bridge helper on ${bridge}`,
  });
  return { kind: "backend", backend: { type: "bridge", bridge } };
};

const ENTRY_READERS: Readonly<Record<string, EntryReader>> = {
  nic: readNic,
  user: readUser,
  tap: readTapOrBridge,
  bridge: readTapOrBridge,
};

/** One net per pair of entries: a NIC and a backend, in either order. */
function pairUp(context: KeyContext, halves: readonly (Half | undefined)[]): void {
  const { reader, key, draft } = context;
  for (let index = 0; index < halves.length; index += 2) {
    if (index + 1 >= halves.length) {
      reader.issue(
        key,
        `entry ${index + 1} has no partner: entries pair up as NIC + user/tap/bridge`,
      );
      break;
    }
    const pair = [halves[index], halves[index + 1]];
    if (!pair[0] || !pair[1]) continue;
    const nic = pair.find((half) => half?.kind === "nic");
    const backend = pair.find((half) => half?.kind === "backend");
    if (nic?.kind !== "nic" || backend?.kind !== "backend") {
      reader.issue(
        key,
        `entries ${index + 1} and ${index + 2} are not one nic and one user/tap/bridge: QEMUKvm pairs them by position`,
      );
      continue;
    }
    draft.nets.push({ ...backend.backend, ...nic.nic } as NetSpec);
    draft.netKeys.push(key.key);
  }
}

export const net: KeyHandler = (context) => {
  const { reader, key, draft } = context;
  // The key replaces the default NIC (QEMUKvm's, or one from [KVM] defaults).
  draft.nets = draft.nets.filter((_, index) => draft.netKeys[index] !== "net");
  draft.netKeys = draft.netKeys.filter((name) => name !== "net");
  const halves = key.entries.map((entry, index) => {
    const type = entry.get("type");
    const read =
      type !== undefined && Object.hasOwn(ENTRY_READERS, type) ? ENTRY_READERS[type] : undefined;
    if (read) return read(context, entry, index);
    reader.issue(
      key,
      `${entryPrefix(key, index)}type=${type ?? ""} is not nic, user, tap or bridge`,
    );
    return undefined;
  });
  pairUp(context, halves);
};
