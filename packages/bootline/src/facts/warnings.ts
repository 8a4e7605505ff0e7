/**
 * `specWarnings`: who can reach what a valid spec listens on. Not errors: a spec
 * may mean to listen on every interface; a facade shows them to whoever starts the VM.
 */
import { legacyEndpoint } from "../argv/endpoints.js";
import { parseArgs } from "../argv/parse.js";
import { scanOptions } from "../argv/scan.js";
import { InvalidSpecError } from "../errors.js";
import { VNC_BASE_PORT } from "../spec/defaults.js";
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import type { PortSpec } from "../spec/values.js";
import type { VmSpec } from "../spec/vm-spec.js";
import { isLoopbackAddress, isWildcardAddress } from "../syntax/ip-address.js";
import { resolveSpec } from "../validate/resolve.js";
import type { ListenerKind } from "./vm-facts.js";

/**
 * What a warning is about, to match on:
 * - `WARN_BOOTLINE_WILDCARD_LISTENER`: a listener on every interface (`0.0.0.0`,
 *   `::`, however written): every machine that reaches the host can connect;
 * - `WARN_BOOTLINE_NETWORK_LISTENER`: a listener on an address other machines reach;
 * - `WARN_BOOTLINE_TCP_LISTENER`: a listener on loopback that has no password (the
 *   serial console, VNC, the incoming migration, and QMP, HMP, the guest agent or a
 *   gdb stub that `extraArgs` put on TCP): every local user of the host can connect.
 */
export type SpecWarningCode =
  | "WARN_BOOTLINE_WILDCARD_LISTENER"
  | "WARN_BOOTLINE_NETWORK_LISTENER"
  | "WARN_BOOTLINE_TCP_LISTENER";

/** Something a spec exposes, at the field that decides it. */
export interface SpecWarning {
  readonly code: SpecWarningCode;
  /**
   * The spec field to change, e.g. `serial.host` (for the address), `serial.type`
   * (for the TCP form: `"unix"` is private), `nets[0].hostForwards[1]`, `extraArgs`.
   */
  readonly field: string;
  /** Who can connect to what, and what they get, in a sentence. */
  readonly message: string;
}

/** A listener, as `specWarnings` describes it. */
interface Exposed {
  readonly what: string;
  readonly protocol: "tcp" | "udp";
  readonly host: string;
  readonly port: PortSpec;
  /** What whoever connects gets, or `undefined` when loopback is no hazard (a forward). */
  readonly hazard: string | undefined;
  /** The field of the address, and the field (and its value) of the private form. */
  readonly hostField: string;
  readonly formField: string;
  readonly unixForm: string;
}

const CONSOLE =
  "QEMU asks no password: whoever connects has the guest's console, often a root shell";
const SCREEN = "QEMU asks no password: whoever connects sees the screen and types on the keyboard";
const STATE =
  "whoever connects first supplies the guest's whole state: its memory, devices and CPU registers";
const MONITOR = "whoever connects controls QEMU, and can run programs as QEMU's user";

/** What each kind of listener `extraArgs` adds (parsed as `parseArgs` reads a command line) gives. */
const EXTRA: Readonly<Record<ListenerKind | "gdb", { what: string; hazard?: string }>> = {
  qmp: { what: "a QMP monitor", hazard: MONITOR },
  monitor: { what: "an HMP monitor", hazard: MONITOR },
  "guest-agent": { what: "the guest agent", hazard: "whoever connects runs commands in the guest" },
  serial: { what: "a serial console", hazard: CONSOLE },
  display: { what: "VNC", hazard: SCREEN },
  migration: { what: "the incoming migration", hazard: STATE },
  forward: { what: "a host forward" },
  gdb: {
    what: "a gdb stub",
    hazard: "whoever connects reads and writes the guest's memory and CPU registers",
  },
};

const portText = (port: PortSpec) => (port === "auto" ? "(to be assigned)" : String(port));

const hostPortText = (host: string, port: PortSpec) =>
  host.includes(":") ? `[${host}]:${portText(port)}` : `${host}:${portText(port)}`;

/** Who can connect to an address: every machine, the machines on its network, or local users. */
function reach(host: string): "wildcard" | "network" | "local" {
  if (isWildcardAddress(host)) return "wildcard";
  return isLoopbackAddress(host) || host === "localhost" ? "local" : "network";
}

/** The warning for one listener, or `undefined` when it exposes nothing. */
function warningOf(listener: Exposed): SpecWarning | undefined {
  const { what, host, port, hazard } = listener;
  const protocol = listener.protocol.toUpperCase();
  const gives = hazard === undefined ? "" : ` (${hazard})`;
  switch (reach(host)) {
    case "wildcard":
      return {
        code: "WARN_BOOTLINE_WILDCARD_LISTENER",
        field: listener.hostField,
        message: `${what} listens on ${protocol} port ${portText(port)} on every interface (${host}): any machine that can reach the host can connect to it${gives}`,
      };
    case "network":
      return {
        code: "WARN_BOOTLINE_NETWORK_LISTENER",
        field: listener.hostField,
        message: `${what} listens on ${protocol} ${hostPortText(host, port)}: any machine that can reach ${host} can connect to it, and so can any local user${gives}`,
      };
    default:
      if (hazard === undefined) return undefined;
      return {
        code: "WARN_BOOTLINE_TCP_LISTENER",
        field: listener.formField,
        message: `${what} listens on ${protocol} ${hostPortText(host, port)}: any local user of the host can connect to it${gives}; ${listener.unixForm} puts it on a unix socket in the VM's private directory`,
      };
  }
}

/** The listeners of a spec's own fields. */
function specListeners(spec: ResolvedSpec): Exposed[] {
  const listeners: Exposed[] = [];
  for (const net of spec.nets) {
    if (net.type !== "user") continue;
    for (const forward of net.hostForwards) {
      const field = forward.field.slice(0, -".hostPort".length);
      listeners.push({
        what: `the forward to guest port ${forward.guestPort}`,
        protocol: forward.protocol,
        host: forward.hostAddress,
        port: forward.hostPort,
        hazard: undefined,
        hostField: field,
        formField: field,
        unixForm: "",
      });
    }
  }
  const { serial, display, incoming } = spec;
  if (serial && serial.type !== "unix")
    listeners.push({
      what: "the serial console",
      protocol: "tcp",
      host: serial.host,
      port: serial.port,
      hazard: CONSOLE,
      hostField: "serial.host",
      formField: "serial.type",
      unixForm: 'type "unix"',
    });
  if (display.type === "vnc" && display.socket === "tcp")
    listeners.push({
      what: "VNC",
      protocol: "tcp",
      host: display.host,
      port: display.display === "auto" ? "auto" : VNC_BASE_PORT + display.display,
      hazard: SCREEN,
      hostField: "display.host",
      formField: "display.socket",
      unixForm: 'socket "unix"',
    });
  if (incoming?.type === "tcp")
    listeners.push({
      what: "the incoming migration",
      protocol: "tcp",
      host: incoming.host,
      port: incoming.port,
      hazard: STATE,
      hostField: "incoming.host",
      formField: "incoming.type",
      unixForm: 'type "unix"',
    });
  return listeners;
}

/** The listeners `extraArgs` add, read as `parseArgs` reads a command line, and gdb stubs. */
function extraListeners(extraArgs: readonly string[]): Exposed[] {
  const found: {
    kind: ListenerKind | "gdb";
    protocol: "tcp" | "udp";
    host: string;
    port: number;
  }[] = [...parseArgs(["qemu", ...extraArgs]).listeners];
  const scanned = scanOptions(extraArgs);
  for (const device of scanned.gdb) {
    const endpoint = legacyEndpoint(device, scanned.chardevs)?.endpoint;
    if (endpoint?.type === "tcp")
      found.push({ kind: "gdb", protocol: "tcp", host: endpoint.host, port: endpoint.port });
  }
  return found.map(({ kind, protocol, host, port }) => ({
    what: EXTRA[kind].what,
    protocol,
    host,
    port,
    hazard: EXTRA[kind].hazard,
    hostField: "extraArgs",
    formField: "extraArgs",
    unixForm: "a unix: form",
  }));
}

/**
 * What a spec exposes to other users and machines: a listener on every interface
 * (`0.0.0.0`, `::`, however written) or on an address other machines reach, and
 * the TCP listeners without a password that every local user can connect to: the
 * serial console, VNC and the incoming migration (their unix forms live in the VM's
 * private directory), and QMP, HMP, the guest agent or a gdb stub on TCP in
 * `extraArgs`. Empty when nothing is exposed. Ports may still be `"auto"`.
 * Pure; throws `InvalidSpecError` for an invalid spec.
 */
export function specWarnings(spec: VmSpec): SpecWarning[] {
  const { spec: resolved, issues } = resolveSpec(spec, { allowUnassigned: true });
  if (!resolved) throw new InvalidSpecError(issues);
  const listeners = specListeners(resolved);
  if (resolved.extraArgs.length > 0) listeners.push(...extraListeners(resolved.extraArgs));
  const warnings: SpecWarning[] = [];
  for (const listener of listeners) {
    const warning = warningOf(listener);
    if (warning) warnings.push(warning);
  }
  return warnings;
}
