/**
 * The VM's channels and listeners: runtime files (`pidfile`, `qmp`, `monitor`),
 * the serial console, the guest agent, the display and the incoming migration.
 */
import { describeValue } from "@qemu-kvm/core";
import { runtimeFileNames, VNC_BASE_PORT } from "../spec/defaults.js";
import type {
  ResolvedDisplay,
  ResolvedIncoming,
  ResolvedSerial,
  ResolvedSpec,
  RuntimeFile,
} from "../spec/resolved-spec.js";
import { type Context, hostAddress, placement, runtimePath } from "./context.js";
import { isPlainObject, Reader } from "./reader.js";

export function readRuntimeFile(
  context: Context,
  value: unknown,
  path: string,
  defaultName: string,
  socket: boolean,
): RuntimeFile | undefined {
  const reader = Reader.open(context.issues, value, path, ["path"]);
  if (!reader) return undefined;
  const file = runtimePath(context, reader, "path", defaultName, socket);
  return file === undefined ? {} : { path: file };
}

function readLog(context: Context, reader: Reader): RuntimeFile | undefined {
  if (!reader.has("log")) return undefined;
  return readRuntimeFile(
    context,
    reader.raw("log"),
    reader.at("log"),
    runtimeFileNames.serialLog,
    false,
  );
}

export function readSerial(context: Context, value: unknown): ResolvedSerial | undefined {
  const type = isPlainObject(value) ? value.type : undefined;
  if (type === "unix") {
    const reader = Reader.open(context.issues, value, "serial", ["type", "path", "log"]);
    if (!reader) return undefined;
    const path = runtimePath(context, reader, "path", runtimeFileNames.serial, true);
    const log = readLog(context, reader);
    return { type, ...(path !== undefined ? { path } : {}), ...(log ? { log } : {}) };
  }
  if (type === "telnet" || type === "tcp") {
    const reader = Reader.open(context.issues, value, "serial", ["type", "host", "port", "log"]);
    if (!reader) return undefined;
    const host = hostAddress(reader, "host");
    const port = reader.port("port", context.allowUnassigned);
    const log = readLog(context, reader);
    if (port === undefined) return undefined;
    if (port !== "auto")
      context.listeners.push({ protocol: "tcp", host, port, field: reader.at("port") });
    return { type, host, port, ...(log ? { log } : {}) };
  }
  if (isPlainObject(value))
    context.issues.add("serial.type", `is ${describeValue(type)}`, '"telnet", "tcp" or "unix"');
  else context.issues.add("serial", `is ${describeValue(value)}`, "an object");
  return undefined;
}

export function readGuestAgent(context: Context, value: unknown): ResolvedSpec["guestAgent"] {
  const reader = Reader.open(context.issues, value, "guestAgent", ["path", "pciAddress"]);
  if (!reader) return undefined;
  const path = runtimePath(context, reader, "path", runtimeFileNames.guestAgent, true);
  const { slot } = placement(context, reader, "pciAddress");
  return { ...(path !== undefined ? { path } : {}), ...(slot ? { slot } : {}) };
}

const VGA_TYPES = ["std", "virtio", "cirrus", "qxl", "none"] as const;

/** VNC on a TCP port: `display` is N for port 5900 + N, or `"auto"`. */
function readTcpVnc(context: Context, reader: Reader): ResolvedDisplay {
  const host = hostAddress(reader, "host");
  const vga = reader.choice("vga", VGA_TYPES) ?? "std";
  let display: number | "auto" | undefined;
  if (reader.raw("display") === "auto") {
    if (!context.allowUnassigned)
      context.issues.add(
        "display.display",
        'is "auto": the display must be assigned before building',
        "a display number (lease port 5900+N and call assignPorts)",
      );
    display = "auto";
  } else {
    display = reader.integer("display", 0, 65535 - VNC_BASE_PORT, {
      required: true,
      expected: `a VNC display number 0–${65535 - VNC_BASE_PORT} (port 5900 + display) or "auto"`,
    });
    if (display !== undefined)
      context.listeners.push({
        protocol: "tcp",
        host,
        port: VNC_BASE_PORT + display,
        field: "display.display",
      });
  }
  if (display === undefined) return { type: "none" };
  return { type: "vnc", socket: "tcp", host, display, vga };
}

/** VNC on a unix socket, `<runtimeDir>/vnc.sock` by default. */
function readUnixVnc(context: Context, reader: Reader): ResolvedDisplay {
  const path = runtimePath(context, reader, "path", runtimeFileNames.vnc, true);
  const vga = reader.choice("vga", VGA_TYPES) ?? "std";
  return path === undefined
    ? { type: "vnc", socket: "unix", vga }
    : { type: "vnc", socket: "unix", path, vga };
}

export function readDisplay(context: Context, value: unknown): ResolvedDisplay {
  if (value === undefined) return { type: "none" };
  const type = isPlainObject(value) ? value.type : undefined;
  if (type === "none") {
    Reader.open(context.issues, value, "display", ["type"]);
    return { type: "none" };
  }
  if (type === "vnc") {
    const socket = (value as Record<string, unknown>).socket;
    if (socket === "unix") {
      const reader = Reader.open(context.issues, value, "display", [
        "type",
        "socket",
        "path",
        "vga",
      ]);
      return reader ? readUnixVnc(context, reader) : { type: "none" };
    }
    const reader = Reader.open(context.issues, value, "display", [
      "type",
      "socket",
      "host",
      "display",
      "vga",
    ]);
    if (!reader) return { type: "none" };
    if (socket !== undefined && socket !== "tcp") {
      context.issues.add("display.socket", `is ${describeValue(socket)}`, '"tcp" or "unix"');
      return { type: "none" };
    }
    return readTcpVnc(context, reader);
  }
  if (isPlainObject(value))
    context.issues.add("display.type", `is ${describeValue(type)}`, '"none" or "vnc"');
  else context.issues.add("display", `is ${describeValue(value)}`, "an object");
  return { type: "none" };
}

export function readIncoming(context: Context, value: unknown): ResolvedIncoming | undefined {
  const type = isPlainObject(value) ? value.type : undefined;
  if (type === "unix") {
    const reader = Reader.open(context.issues, value, "incoming", ["type", "path"]);
    if (!reader) return undefined;
    const path = runtimePath(context, reader, "path", runtimeFileNames.incoming, true);
    return path === undefined ? { type } : { type, path };
  }
  const reader = Reader.open(context.issues, value, "incoming", ["type", "host", "port"]);
  if (!reader) return undefined;
  if (type !== undefined && type !== "tcp") {
    context.issues.add("incoming.type", `is ${describeValue(type)}`, '"tcp" or "unix"');
    return undefined;
  }
  const host = hostAddress(reader, "host");
  const port = reader.port("port", context.allowUnassigned);
  if (port === undefined) return undefined;
  if (port !== "auto")
    context.listeners.push({ protocol: "tcp", host, port, field: "incoming.port" });
  return { type: "tcp", host, port };
}
