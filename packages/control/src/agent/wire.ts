import { excerpt } from "@qemu-kvm/core";
import { GuestAgentCommandError, GuestAgentProtocolError } from "./errors.js";

/** A line from the agent, as far as the client reads it. */
export interface Reply {
  return?: unknown;
  error?: { class?: string; desc?: string };
  id?: unknown;
}

/** The line as a JSON object, or undefined (not JSON, or not an object: stray). */
export function parseReply(line: string): Reply | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Reply;
  } catch {
    // not JSON: stray
  }
  return undefined;
}

/** The reply's `return` value; its `error` as `ERR_QGA_COMMAND`. */
export function unwrap(command: string, reply: Reply): unknown {
  if (reply.error !== undefined)
    throw new GuestAgentCommandError({
      command,
      errorClass: String(reply.error?.class ?? "GenericError"),
      description: String(reply.error?.desc ?? ""),
    });
  if (!("return" in reply))
    throw new GuestAgentProtocolError(`reply to ${command} has neither return nor error`, {
      received: JSON.stringify(reply),
    });
  return reply.return;
}

/** Fields whose values never reach the debug log: command input, environment, file and output data. */
const WITHHELD = new Set(["input-data", "env", "buf-b64", "out-data", "err-data"]);

/**
 * A message of the wire for the debug log, with the values of the fields that
 * carry data (stdin, environment, file contents, command output) replaced by
 * their size: nothing secret is ever logged.
 */
export function debugView(message: unknown): string {
  return excerpt(JSON.stringify(withhold(message)), 300);
}

function withhold(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withhold);
  if (value === null || typeof value !== "object") return value;
  const shown: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value))
    shown[key] = WITHHELD.has(key) ? withheldSize(item) : withhold(item);
  return shown;
}

function withheldSize(value: unknown): string {
  if (typeof value === "string") return `<${value.length} chars withheld>`;
  if (Array.isArray(value)) return `<${value.length} items withheld>`;
  return "<withheld>";
}
