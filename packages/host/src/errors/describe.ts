import { tail } from "@qemu-kvm/core";

/** A short, readable form of argv for messages (not for a shell). */
export function describeArgv(argv: readonly string[]): string {
  const text = argv
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word)))
    .join(" ");
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** ` on user@host:port` for messages; nothing for the local host. */
export function onHost(host: string): string {
  return host === "local" ? "" : ` on ${host}`;
}

/** The last lines of a command's output (at most 20 lines and 2000 characters), for messages. */
export function outputTail(output: string | Buffer): string {
  const text = typeof output === "string" ? output : output.toString("utf8");
  return tail(text, { maxLines: 20, maxChars: 2000 });
}
