import type { Duplex } from "node:stream";
import { setImmediate as nextTurn } from "node:timers/promises";
import { scanMeter } from "../../src/console/scan-meter.js";

export const KiB = 1024;
export const MiB = 1024 * KiB;

/**
 * About `size` characters of a chatty boot: kernel messages with timestamps,
 * init's lines, colour escapes, CR LF line ends (ASCII, so characters are bytes).
 */
export function bootLog(size: number): string {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const seconds = (i / 1000).toFixed(6).padStart(12, " ");
    const line =
      i % 3 === 0
        ? `[${seconds}] e1000 0000:00:0${i % 10}.0 eth0: message number ${i} of the flood\r\n`
        : i % 3 === 1
          ? `Starting service ${i}: \x1b[32mOK\x1b[0m ${"-".repeat(i % 50)}\r\n`
          : `init: a line of ordinary output ${i}, without a timestamp ${"=".repeat(i % 70)}\r\n`;
    lines.push(line);
    length += line.length;
  }
  return lines.join("").slice(0, size);
}

/**
 * Pushes `text` to whoever reads `peer`, `chunkSize` characters at a time, one
 * chunk per turn of the event loop (as a socket delivers them).
 */
export async function flood(peer: Duplex, text: string, chunkSize: number): Promise<void> {
  for (let offset = 0; offset < text.length; offset += chunkSize) {
    peer.push(Buffer.from(text.slice(offset, offset + chunkSize), "latin1"));
    await nextTurn();
  }
}

/** Characters the console's matchers examine while `work` runs. */
export async function examinedDuring(work: () => Promise<unknown>): Promise<number> {
  const before = scanMeter.chars;
  await work();
  return scanMeter.chars - before;
}
