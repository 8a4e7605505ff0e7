/** Character backends as QEMU's command line writes them: `-chardev socket,…` and the legacy forms. */
import type { Endpoint, OtherBackend } from "../facts/vm-facts.js";
import { lastOption, type OptionPart, parseOnOff, splitOptionList } from "../syntax/option-list.js";

export interface Chardev {
  readonly backend: string;
  readonly parts: readonly OptionPart[];
}

/** Where a character backend leads, and its `logfile=`. */
export interface ChardevFacts {
  readonly endpoint: Endpoint | OtherBackend;
  readonly logPath?: string;
}

/** A `host:port` address with an optional `[v6]` host. Empty host: all interfaces. */
export function splitHostPort(text: string): { host: string; port: number } | undefined {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0 || text[end + 1] !== ":") return undefined;
    host = text.slice(1, end);
    portText = text.slice(end + 2);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return undefined;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  return { host: host === "" ? "0.0.0.0" : host, port: Number(portText) };
}

/** The endpoint of a `-chardev socket` (or undefined for other backends). */
function socketEndpoint(parts: readonly OptionPart[]): Endpoint | undefined {
  const server = parseOnOff(lastOption(parts, "server")) ?? false;
  const path = lastOption(parts, "path");
  if (path !== undefined) return { type: "unix", path, server };
  const port = lastOption(parts, "port");
  if (port === undefined || !/^\d{1,5}$/.test(port)) return undefined;
  const host = lastOption(parts, "host") ?? "";
  return {
    type: "tcp",
    host: host === "" ? "0.0.0.0" : host,
    port: Number(port),
    server,
    telnet: parseOnOff(lastOption(parts, "telnet")) ?? false,
  };
}

export function chardevFacts(chardev: Chardev): ChardevFacts {
  const logPath = lastOption(chardev.parts, "logfile");
  const endpoint = chardev.backend === "socket" ? socketEndpoint(chardev.parts) : undefined;
  const found = endpoint ?? { type: "other" as const, backend: chardev.backend };
  return logPath === undefined ? { endpoint: found } : { endpoint: found, logPath };
}

const TCP_PREFIXES = ["tcp:", "telnet:", "tn3270:", "websocket:"];

/** `telnet::7001,server,nowait` and the other TCP forms. */
function legacyTcp(text: string, prefix: string): ChardevFacts {
  const rest = text.slice(prefix.length);
  const comma = rest.indexOf(",");
  const address = splitHostPort(comma < 0 ? rest : rest.slice(0, comma));
  if (!address) return { endpoint: { type: "other", backend: text } };
  const parts = comma < 0 ? [] : splitOptionList(rest.slice(comma + 1));
  return {
    endpoint: {
      type: "tcp",
      ...address,
      server: parseOnOff(lastOption(parts, "server")) ?? false,
      telnet: prefix === "telnet:",
    },
  };
}

/**
 * A legacy character device string as `-serial`, `-monitor` and `-qmp` take it:
 * `telnet::7001,server,nowait`, `unix:/tmp/vm0.sock,server,nowait`, `chardev:id`, `pty`…
 */
export function legacyEndpoint(
  text: string,
  chardevs: ReadonlyMap<string, Chardev>,
): ChardevFacts | undefined {
  if (text.startsWith("chardev:")) {
    const chardev = chardevs.get(text.slice("chardev:".length));
    return chardev && chardevFacts(chardev);
  }
  const prefix = TCP_PREFIXES.find((candidate) => text.startsWith(candidate));
  if (prefix !== undefined) return legacyTcp(text, prefix);
  if (text.startsWith("unix:")) {
    const parts = splitOptionList(text.slice("unix:".length), "path");
    const path = lastOption(parts, "path");
    if (path === undefined) return undefined;
    return {
      endpoint: { type: "unix", path, server: parseOnOff(lastOption(parts, "server")) ?? false },
    };
  }
  if (text === "none") return undefined;
  return { endpoint: { type: "other", backend: text } };
}
