import { HmpParseError } from "../../errors.js";
import type { RunState } from "../../schema/names.js";
import { lines } from "./lines.js";

/** `info status`. */
export interface HmpStatus {
  running: boolean;
  /** The RunState: `running`, `paused`, or the state in parentheses (`prelaunch`, `postmigrate`…). */
  status: RunState | (string & {});
  singlestep: boolean;
}

/** `VM status: paused (prelaunch)` → `{ running: false, status: "prelaunch" }`. */
export function parseInfoStatus(text: string): HmpStatus {
  for (const line of lines(text)) {
    if (line.trim() === "") continue;
    const match = /^VM status: (running|paused)( \(single step mode\))?(?: \(([\w-]+)\))?\s*$/.exec(
      line,
    );
    if (!match)
      throw new HmpParseError({ parser: "info status", line, reason: "not a VM status line" });
    const running = match[1] === "running";
    return { running, status: match[3] ?? match[1]!, singlestep: match[2] !== undefined };
  }
  throw new HmpParseError({ parser: "info status", line: text, reason: "empty output" });
}
