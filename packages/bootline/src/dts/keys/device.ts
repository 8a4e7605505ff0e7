/**
 * The `device` key: passthrough (`vfio-pci`, `pci-assign`) and vhost networking
 * (`vhost-user`, `vhost-cuse`). One handler per driver, in a table.
 */
import type { KeyContext, KeyHandler } from "../draft.js";
import { type Entry, entryPrefix } from "../entries.js";

/** Reads entry `index` of the key, a device of one driver. */
type DriverReader = (context: KeyContext, entry: Entry, index: number) => void;

type NicExtras = {
  mac?: string;
  disableModern?: boolean;
  deviceProperties?: Record<string, string>;
};

/** opt_mac, opt_settings (one k=v: the format cannot hold commas) and opt_legacy. */
function nicExtras(
  { reader, key }: KeyContext,
  entry: Entry,
  where: string,
): NicExtras | undefined {
  const result: NicExtras = {};
  const mac = entry.get("opt_mac");
  if (mac) result.mac = mac;
  const legacy = entry.get("opt_legacy");
  if (legacy) {
    if (!["on", "off", "true", "false"].includes(legacy)) {
      reader.issue(key, `${where}opt_legacy=${legacy} must be on or off (disable-modern)`);
      return undefined;
    }
    result.disableModern = legacy === "on" || legacy === "true";
  }
  const settings = entry.get("opt_settings");
  if (settings) {
    const equals = settings.indexOf("=");
    if (equals <= 0) {
      reader.issue(key, `${where}opt_settings=${settings} is not property=value`);
      return undefined;
    }
    result.deviceProperties = { [settings.slice(0, equals)]: settings.slice(equals + 1) };
  }
  return result;
}

const ALIASES = { prop_host: "opt_host", prop_addr: "opt_addr" } as const;

const passthrough: DriverReader = ({ reader, key, draft }, entry, index) => {
  const where = entryPrefix(key, index);
  const driver = entry.get("driver") as "vfio-pci" | "pci-assign";
  const allowed = ["driver", "opt_host", "opt_addr", "prop_host", "prop_addr"];
  if (!reader.only(key, entry, index, allowed)) return;
  for (const [alias, name] of Object.entries(ALIASES))
    if (entry.has(alias))
      draft.notes.push({
        key: key.key,
        message: `${where}${alias} read as ${name} (the cfg comments document ${alias}, QEMUKvm read ${name})`,
      });
  const host = entry.get("opt_host") || entry.get("prop_host");
  if (!host) {
    reader.issue(key, `${where}driver=${driver} needs opt_host (the host PCI address)`);
    return;
  }
  const addr = entry.get("opt_addr") || entry.get("prop_addr");
  draft.passthrough.push({ host, driver, ...(addr ? { pciAddress: addr } : {}) });
};

const VHOST_USER_KEYS = [
  "driver",
  "opt_path",
  "opt_server",
  "opt_queue",
  "opt_mac",
  "opt_settings",
  "opt_legacy",
  "opt_script",
  "opt_br",
];

const vhostUser: DriverReader = (context, entry, index) => {
  const { reader, key, draft } = context;
  const where = entryPrefix(key, index);
  if (!reader.only(key, entry, index, VHOST_USER_KEYS)) return;
  const nic = nicExtras(context, entry, where);
  if (!nic) return;
  const script = entry.get("opt_script");
  if (script) {
    draft.nets.push({ type: "tap", script, model: "virtio-net-pci", ...nic });
    draft.netKeys.push(key.key);
    return;
  }
  const path = entry.get("opt_path");
  if (!path) {
    reader.issue(
      key,
      `${where}driver=vhost-user needs opt_path (the vhost-user socket) or opt_script`,
    );
    return;
  }
  const server = entry.get("opt_server");
  if (server !== undefined && server !== "" && server !== "server") {
    reader.issue(key, `${where}opt_server=${server}: only "server" is understood (QEMU listens)`);
    return;
  }
  const queues = reader.integer(key, "opt_queue", entry.get("opt_queue") || undefined, 1, 1024);
  draft.nets.push({
    type: "vhost-user",
    model: "virtio-net-pci",
    socketPath: path,
    ...(server === "server" ? { server: true } : {}),
    ...(queues !== undefined ? { queues } : {}),
    ...nic,
  });
  draft.netKeys.push(key.key);
};

const vhostCuse: DriverReader = (context, entry, index) => {
  const { reader, key, draft } = context;
  const where = entryPrefix(key, index);
  if (!reader.only(key, entry, index, ["driver", "opt_tap", "opt_mac", "opt_settings"])) return;
  const nic = nicExtras(context, entry, where);
  if (!nic) return;
  const tap = entry.get("opt_tap") || `vhost${draft.nets.length}`;
  draft.nets.push({
    type: "tap",
    ifname: `tap_${tap}`,
    vhost: true,
    model: "virtio-net-pci",
    ...nic,
  });
  draft.netKeys.push(key.key);
  draft.notes.push({
    key: key.key,
    message: `${where}vhost-cuse (removed from DPDK in 16.11) emitted as QEMUKvm did: tap ifname=tap_${tap}, vhost=on`,
  });
};

const virtioNetPci: DriverReader = ({ reader, key }, _entry, index) =>
  reader.issue(
    key,
    `${entryPrefix(key, index)}driver=virtio-net-pci refers to a netdev defined outside the config (opt_netdev, e.g. by usercmd); describe it as a net entry, which carries its own backend`,
  );

const DRIVERS: Readonly<Record<string, DriverReader>> = {
  "vfio-pci": passthrough,
  "pci-assign": passthrough,
  "vhost-user": vhostUser,
  "vhost-cuse": vhostCuse,
  "virtio-net-pci": virtioNetPci,
};

const SCENE_KEYS = ["vf_idx", "pf_dev", "pf_idx", "guestpci"];

export const device: KeyHandler = (context) => {
  const { reader, key } = context;
  for (const [index, entry] of key.entries.entries()) {
    const where = entryPrefix(key, index);
    const scene = [...entry.keys()].filter((name) => SCENE_KEYS.includes(name));
    if (scene.length) {
      reader.issue(
        key,
        `${where}${scene.join(", ")} ${scene.length > 1 ? "are" : "is"} virt_scene-only (devices chosen by the scene runner), not QEMUKvm sub-options`,
      );
      continue;
    }
    const driver = entry.get("driver");
    const read =
      driver !== undefined && Object.hasOwn(DRIVERS, driver) ? DRIVERS[driver] : undefined;
    if (read) read(context, entry, index);
    else
      reader.issue(
        key,
        driver
          ? `${where}driver=${driver} is not one QEMUKvm handles (vfio-pci, pci-assign, vhost-user, vhost-cuse, virtio-net-pci)`
          : `${where}has no driver=`,
      );
  }
};
