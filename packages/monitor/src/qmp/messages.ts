import type { QmpEvent } from "./types.js";

/** Why a line that is not JSON is not QMP, as precisely as can be told. */
export function notJsonMessage(line: string): string {
  if (line.startsWith("QEMU ") && line.includes("monitor"))
    return "this is QEMU's human monitor (-monitor), not QMP (-qmp): use connectHmp";
  if (line.trim() === "{")
    return "QEMU sent a line that is not JSON (pretty=on QMP output is not supported)";
  return "QEMU sent a line that is not JSON";
}

/** An event message as a {@link QmpEvent}: `data` `{}` when QEMU sent none. */
export function toEvent(message: Record<string, unknown>): QmpEvent {
  const data = message.data;
  return {
    event: message.event as string,
    data: data !== null && typeof data === "object" ? data : {},
    timestamp: (message.timestamp as QmpEvent["timestamp"]) ?? { seconds: -1, microseconds: -1 },
  } as QmpEvent;
}
