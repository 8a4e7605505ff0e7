/** Keys of the VM's channels and listeners: `monitor`, `migration`, `control`, `qga`, `vnc`. */
import { VNC_BASE_PORT } from "../../spec/defaults.js";
import { type KeyHandler, oneEntry } from "../draft.js";

export const monitor: KeyHandler = (context) => {
  const { reader, key, draft } = context;
  if (key.entries.length === 0) {
    draft.monitor = undefined; // `monitor =` with no value: DTS then started no monitor
    return;
  }
  const entry = oneEntry(context, ["path", "port"]);
  if (!entry) return;
  const path = entry.get("path");
  if (path) {
    draft.monitor = { path };
  } else if (entry.has("port") && entry.get("port") === "") {
    draft.monitor = {};
    draft.notes.push({
      key: key.key,
      message:
        "port= (documented: a monitor on a free port) gives an HMP socket in runtimeDir; QEMUKvm read no port, ran without a monitor and failed in update_status",
    });
  } else if (entry.has("port")) {
    reader.issue(
      key,
      `port=${entry.get("port")}: QEMUKvm never read a monitor port, and a TCP monitor would be open to the network; use path= or port=`,
    );
  } else draft.monitor = undefined;
};

export const migration: KeyHandler = (context) => {
  const { reader, key, draft } = context;
  const entry = oneEntry(context, ["enable", "port"]);
  if (!entry || !reader.yesNo(key, "enable", entry.get("enable"))) return;
  const port = reader.integer(key, "port", entry.get("port") || undefined, 1, 65535);
  if (entry.get("port") && port === undefined) return;
  draft.incoming = { host: context.listenAddress, port: port ?? "auto" };
  if (context.options.listenAddress === undefined)
    draft.notes.push({
      key: key.key,
      message:
        "the migration listener binds 127.0.0.1, not every interface as in DTS: migrating from another host needs the listenAddress option (or a tunnel)",
    });
};

export const control: KeyHandler = (context) => {
  const { reader, key, draft } = context;
  const entry = oneEntry(context, ["type", "port"]);
  if (!entry) return;
  const type = entry.get("type");
  if (type === "qga") {
    draft.control = "qga";
    draft.guestAgent = true;
  } else if (type === "telnet") {
    const port = reader.integer(key, "port", entry.get("port") || undefined, 1, 65535);
    if (entry.get("port") && port === undefined) return;
    draft.control = "telnet";
    draft.serial = { type: "telnet", host: context.listenAddress, port: port ?? "auto" };
  } else if (type === "socket") {
    draft.control = "socket";
    draft.serial = { type: "unix" };
  } else reader.issue(key, `type=${type ?? ""} is not qga, telnet or socket`);
};

export const qga: KeyHandler = (context) => {
  const { reader, key, draft } = context;
  const entry = oneEntry(context, ["enable"]);
  if (!entry) return;
  const enable = reader.yesNo(key, "enable", entry.get("enable"));
  if (enable) draft.guestAgent = true;
  draft.notes.push({
    key: key.key,
    message: enable
      ? "enable=yes adds the guest agent channel (QEMUKvm ignored this key; control=qga added it)"
      : "enable=no ignored, as QEMUKvm did: control decides whether the agent channel exists",
  });
};

export const vnc: KeyHandler = (context) => {
  const { reader, key, draft } = context;
  const entry = oneEntry(context, ["disable", "displayNum", "displayNumber"]);
  if (!entry) return;
  const disable = entry.get("disable");
  if (disable !== undefined && disable !== "True" && disable !== "False") {
    reader.issue(key, `disable=${disable} must be True or False (QEMUKvm compared with "True")`);
    return;
  }
  if (entry.has("displayNumber"))
    draft.notes.push({
      key: key.key,
      message:
        "displayNumber read as displayNum (virt_global.cfg documents displayNumber, QEMUKvm read displayNum)",
    });
  if (disable === "True") {
    draft.display = { type: "none" };
    return;
  }
  const number = entry.get("displayNum") || entry.get("displayNumber");
  const display = reader.integer(key, "displayNum", number || undefined, 0, 65535 - VNC_BASE_PORT);
  if (number && display === undefined) return;
  draft.display = { type: "vnc", host: context.listenAddress, display: display ?? "auto" };
};
