import { InvalidArgumentError } from "@qemu-kvm/core";
import { checkOptions, checkString } from "../arguments.js";
import type { PortSpec } from "../spec/values.js";
import { isIpv4 } from "./ip-address.js";

/** A host forward with every default filled in. */
export interface ParsedHostForward {
  readonly protocol: "tcp" | "udp";
  readonly hostAddress: string;
  readonly hostPort: PortSpec;
  readonly guestAddress?: string;
  readonly guestPort: number;
}

export interface HostForwardSyntaxOptions {
  /** What an empty host address means. QEMU: all interfaces (`0.0.0.0`); specs: `127.0.0.1`. */
  readonly emptyHostAddress: string;
  /** What an empty host port means: `"auto"` in specs; an error for QEMU's own syntax. */
  readonly emptyHostPort?: "auto";
  /** What an empty guest port means (DTS: 22). Default: an error. */
  readonly emptyGuestPort?: number;
}

const SYNTAX_OPTIONS = {
  emptyHostAddress: checkString,
  emptyHostPort: (value: unknown, field: string) => {
    if (value !== "auto") throw new InvalidArgumentError(field, '"auto"', value);
  },
  emptyGuestPort: (value: unknown, field: string) => {
    if (!validPort(value)) throw new InvalidArgumentError(field, "a port number 1–65535", value);
  },
};

const FORWARD_SYNTAX = /^(tcp|udp)?:([0-9.]*):([0-9]*)-([0-9.]*):([0-9]*)$/;

/**
 * Parses QEMU's host forward syntax `[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`
 * (IPv4 only, as QEMU 7.2's user networking). Returns a message instead when the
 * text does not match.
 */
export function parseHostForward(
  text: string,
  options: HostForwardSyntaxOptions,
): ParsedHostForward | { error: string } {
  checkString(text, "text");
  if (options === undefined) throw new InvalidArgumentError("options", "an object", options);
  checkOptions(options, SYNTAX_OPTIONS);
  checkString(options.emptyHostAddress, "options.emptyHostAddress");
  return readHostForward(text, options);
}

/** Internal: `parseHostForward` for arguments the package checked itself. */
export function readHostForward(
  text: string,
  options: HostForwardSyntaxOptions,
): ParsedHostForward | { error: string } {
  const match = FORWARD_SYNTAX.exec(text);
  if (!match) return { error: `${JSON.stringify(text)} is not a host forward` };
  const [, protocol = "tcp", hostAddress, hostPortText, guestAddress, guestPortText] = match;
  if (hostAddress && !isIpv4(hostAddress))
    return { error: `host address ${JSON.stringify(hostAddress)} is not an IPv4 address` };
  if (guestAddress && !isIpv4(guestAddress))
    return { error: `guest address ${JSON.stringify(guestAddress)} is not an IPv4 address` };
  let hostPort: PortSpec;
  if (hostPortText === "") {
    if (options.emptyHostPort === undefined) return { error: "the host port is missing" };
    hostPort = options.emptyHostPort;
  } else {
    hostPort = Number(hostPortText);
    if (!validPort(hostPort)) return { error: `host port ${hostPortText} is out of range` };
  }
  let guestPort: number;
  if (guestPortText === "") {
    if (options.emptyGuestPort === undefined) return { error: "the guest port is missing" };
    guestPort = options.emptyGuestPort;
  } else {
    guestPort = Number(guestPortText);
    if (!validPort(guestPort)) return { error: `guest port ${guestPortText} is out of range` };
  }
  return {
    protocol: protocol as "tcp" | "udp",
    hostAddress: hostAddress || options.emptyHostAddress,
    hostPort,
    ...(guestAddress ? { guestAddress } : {}),
    guestPort,
  };
}

/** Renders a forward in QEMU's syntax; the host port must be assigned. */
export function formatHostForward(forward: ParsedHostForward & { hostPort: number }): string {
  if (typeof forward !== "object" || forward === null)
    throw new InvalidArgumentError("forward", "a host forward object", forward);
  if (!validPort(forward.hostPort))
    throw new InvalidArgumentError("forward.hostPort", "a port number 1–65535", forward.hostPort);
  if (!validPort(forward.guestPort))
    throw new InvalidArgumentError("forward.guestPort", "a port number 1–65535", forward.guestPort);
  return writeHostForward(forward);
}

/** Internal: `formatHostForward` for a forward the package validated itself. */
export function writeHostForward(forward: ParsedHostForward & { hostPort: number }): string {
  return `${forward.protocol}:${forward.hostAddress}:${forward.hostPort}-${forward.guestAddress ?? ""}:${forward.guestPort}`;
}

export function validPort(port: unknown): port is number {
  return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535;
}
