/** argv of the VM's channels: QMP and HMP monitors, the serial console, the display, migration. */
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import { GUEST_AGENT_PORT_NAME, ids } from "../syntax/ids.js";
import { writeOptionList } from "../syntax/option-list.js";
import { hostPort, known, onOff, placementEntries, socketChardev } from "./options.js";

function monitorArgs(id: string, path: string, mode: "control" | "readline"): string[] {
  return [
    "-chardev",
    socketChardev(id, path),
    "-mon",
    writeOptionList([
      ["chardev", id],
      ["mode", mode],
    ]),
  ];
}

export function monitorsArgs(spec: ResolvedSpec): string[] {
  return [
    ...(spec.qmp ? monitorArgs(ids.qmpChardev, known(spec.qmp.path, "qmp.path"), "control") : []),
    ...(spec.monitor
      ? monitorArgs(ids.monitorChardev, known(spec.monitor.path, "monitor.path"), "readline")
      : []),
  ];
}

export function serialArgs(spec: ResolvedSpec): string[] {
  const serial = spec.serial;
  if (!serial) return [];
  const logPath = serial.log ? known(serial.log.path, "serial.log.path") : undefined;
  const chardev =
    serial.type === "unix"
      ? socketChardev(ids.serialChardev, known(serial.path, "serial.path"), logPath)
      : writeOptionList([
          [undefined, "socket"],
          ["id", ids.serialChardev],
          ["host", serial.host],
          ["port", String(known(serial.port, "serial.port"))],
          ["telnet", onOff(serial.type === "telnet")],
          ["server", "on"],
          ["wait", "off"],
          ...(logPath !== undefined ? ([["logfile", logPath]] as const) : []),
        ]);
  return ["-chardev", chardev, "-serial", `chardev:${ids.serialChardev}`];
}

export function displayArgs(spec: ResolvedSpec): string[] {
  const display = spec.display;
  if (display.type === "none") return ["-display", "none"];
  // -vnc takes an option list whose first value is the address: `unix:PATH` (commas
  // doubled), or HOST:DISPLAY with an IPv6 host in brackets ([::1]:1).
  const address =
    display.socket === "unix"
      ? `unix:${known(display.path, "display.path")}`
      : hostPort(display.host, known(display.display, "display.display"));
  return ["-vnc", writeOptionList([[undefined, address]]), "-vga", display.vga];
}

export function guestAgentArgs(spec: ResolvedSpec): string[] {
  const agent = spec.guestAgent;
  if (!agent) return [];
  return [
    "-chardev",
    socketChardev(ids.guestAgentChardev, known(agent.path, "guestAgent.path")),
    "-device",
    writeOptionList([
      [undefined, "virtio-serial-pci"],
      ["id", ids.virtioSerial],
      ...placementEntries(agent.slot ? { slot: agent.slot } : {}),
    ]),
    "-device",
    writeOptionList([
      [undefined, "virtserialport"],
      ["bus", `${ids.virtioSerial}.0`],
      ["chardev", ids.guestAgentChardev],
      ["name", GUEST_AGENT_PORT_NAME],
      ["id", ids.guestAgentPort],
    ]),
  ];
}

export function incomingArgs(spec: ResolvedSpec): string[] {
  const incoming = spec.incoming;
  if (!incoming) return [];
  // -incoming takes a URI, not an option list: a unix path is written as it is.
  if (incoming.type === "unix")
    return ["-incoming", `unix:${known(incoming.path, "incoming.path")}`];
  return ["-incoming", `tcp:${hostPort(incoming.host, known(incoming.port, "incoming.port"))}`];
}
