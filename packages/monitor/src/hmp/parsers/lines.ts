import { stripTerminalEscapes } from "@qemu-kvm/core";

/**
 * Parsers for the text of HMP `info` commands, as QEMU 7.2 prints it (older
 * formats noted where they differ). They accept output from
 * `HmpClient.command()`, `QmpClient.hmp()`, or captured by hand (`\r\n` or
 * `\n`; terminal escapes are stripped). Unknown lines inside a known block are
 * skipped; text that is not the command's output throws `HmpParseError`.
 */

/** The lines of HMP text, terminal escapes stripped, `\r\n` or `\n` line ends. */
export function lines(text: string): string[] {
  return stripTerminalEscapes(text)
    .split(/\r?\n/)
    .map((line) => line.replace(/\r$/, ""));
}
