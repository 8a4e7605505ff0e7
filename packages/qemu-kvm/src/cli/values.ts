/** The values the command line carries, read strictly: a bad one is a usage error naming its option. */
import { isVmName, VM_NAME_RULE } from "@qemu-kvm/core";
import type { ControlKind } from "../runtime/record.js";
import { CommandLineError } from "./errors.js";

const DURATION = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A duration: a number of seconds (`90`, `2.5`), or with a unit (`500ms`,
 * `90s`, `2m`, `1h`). Returns milliseconds; `0` is allowed (already expired,
 * as the deadline rule reads it).
 */
export function parseDuration(text: string, field: string, verb?: string): number {
  const match = DURATION.exec(text.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] ?? "s"]! : Number.NaN;
  if (!Number.isFinite(ms))
    throw new CommandLineError({
      field,
      verb,
      value: text,
      expected: "a duration",
      message: `${field} takes a duration: seconds (90, 2.5) or with a unit (500ms, 90s, 2m, 1h); got ${JSON.stringify(text)}`,
    });
  return Math.round(ms);
}

/** Where `--host` says to run: an SSH server. */
export interface SshTarget {
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
}

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** `user@host`, `host`, `user@host:port`, `user@[::1]:port`. */
export function parseSshTarget(text: string, verb?: string): SshTarget {
  const fail = (why: string): never => {
    throw new CommandLineError({
      field: "--host",
      verb,
      value: text,
      expected: "user@host[:port]",
      message: `--host takes [user@]host[:port] (an IPv6 address in brackets): ${why}; got ${JSON.stringify(text)}`,
    });
  };
  const at = text.lastIndexOf("@");
  const user = at === -1 ? undefined : text.slice(0, at);
  if (user !== undefined && !/^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/.test(user))
    fail("the user name is not one");
  const rest = text.slice(at + 1);
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(rest);
  const plain = /^([^:[\]]+)(?::(\d+))?$/.exec(rest);
  const match = bracketed ?? plain;
  if (!match) return fail("not a host name or address");
  const host = match[1]!;
  if (!bracketed && !HOST_NAME.test(host)) fail("not a host name or address");
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && !(port >= 1 && port <= 65535)) fail("the port is not 1-65535");
  return { user, host, port };
}

const CONTROLS: readonly ControlKind[] = ["serial-unix", "serial-telnet", "agent"];

export function parseControl(text: string, verb?: string): ControlKind {
  if ((CONTROLS as readonly string[]).includes(text)) return text as ControlKind;
  throw new CommandLineError({
    field: "--control",
    verb,
    value: text,
    expected: CONTROLS.join(", "),
    message: `--control is one of ${CONTROLS.join(", ")}; got ${JSON.stringify(text)}`,
  });
}

/** A VM name operand (also its runtime directory's name: checked before any path is made of it). */
export function parseVmName(text: string, field: string, verb?: string): string {
  if (isVmName(text)) return text;
  throw new CommandLineError({
    field,
    verb,
    value: text,
    expected: VM_NAME_RULE,
    message: `${field} must be ${VM_NAME_RULE}; got ${JSON.stringify(text)}`,
  });
}

/** QMP arguments: a JSON object. */
export function parseJsonObject(
  text: string,
  field: string,
  verb?: string,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CommandLineError({
      field,
      verb,
      value: text,
      cause: error,
      message: `${field} must be a JSON object, e.g. '{"device": "virtio-net0"}': ${(error as Error).message}`,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new CommandLineError({
      field,
      verb,
      value: text,
      message: `${field} must be a JSON object, e.g. '{"device": "virtio-net0"}'; got ${JSON.stringify(text)}`,
    });
  return value as Record<string, unknown>;
}
