import type { QmpTimestamp, RawQmpEvent } from "./events.js";

/** Why a line that is not JSON is not QMP, as precisely as can be told. */
export function notJsonMessage(line: string): string {
  if (line.startsWith("QEMU ") && line.includes("monitor"))
    return "this is QEMU's human monitor (-monitor), not QMP (-qmp): use connectHmp";
  if (line.trim() === "{")
    return "QEMU sent a line that is not JSON (pretty=on QMP output is not supported)";
  return "QEMU sent a line that is not JSON";
}

/** An event message as a {@link RawQmpEvent}: `data` `{}` when QEMU sent none. */
export function toEvent(message: Record<string, unknown>): RawQmpEvent {
  const data = message.data;
  return {
    event: message.event as string,
    data: data !== null && typeof data === "object" ? (data as Record<string, unknown>) : {},
    timestamp: (message.timestamp as QmpTimestamp) ?? { seconds: -1, microseconds: -1 },
  };
}
