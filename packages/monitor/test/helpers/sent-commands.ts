import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGES = fileURLToPath(new URL("../../../", import.meta.url));

/** The packages whose sources talk QMP. */
export const QMP_USERS = ["monitor", "control", "pool", "qemu-kvm"] as const;

/**
 * A QMP command or event name given as a string literal to the calls that
 * send commands or wait for events (`execute`, `executeUnchecked`, the
 * connection's `#send`, the helpers' `run(this, …)`, `waitForEvent`, `waitFor`),
 * generic arguments and line breaks allowed.
 */
const CALL =
  /(?:(?<![\w$#])(?:execute|executeUnchecked|waitForEvent|waitFor)|#send)(?:<[^>]*>)?\(\s*"([^"]+)"|\brun\(\s*this,\s*"([^"]+)"/g;

async function sources(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}

/**
 * Every QMP command and event the packages' own sources name, found by
 * reading them. Guest agent commands (`guest-*`, sent by control's agent
 * client to qemu-ga, not to QEMU) are not QMP and are left out.
 */
export async function commandsAndEventsSent(): Promise<{ commands: string[]; events: string[] }> {
  const commands = new Set<string>();
  const events = new Set<string>();
  for (const name of QMP_USERS) {
    for (const file of await sources(join(PACKAGES, name, "src"))) {
      for (const match of (await readFile(file, "utf8")).matchAll(CALL)) {
        const found = (match[1] ?? match[2])!;
        if (found.startsWith("guest-")) continue;
        if (/^[A-Z][A-Z0-9_]*$/.test(found)) events.add(found);
        else commands.add(found);
      }
    }
  }
  return { commands: [...commands].sort(), events: [...events].sort() };
}
