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
  if (spec.display.type === "none") return ["-display", "none"];
  const display = known(spec.display.display, "display.display");
  // VNC's display syntax puts an IPv6 host in brackets: [::1]:1.
  return [
    "-vnc",
    writeOptionList([[undefined, hostPort(spec.display.host, display)]]),
    "-vga",
    spec.display.vga,
  ];
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
  if (!spec.incoming) return [];
  // -incoming takes a URI, not an option list.
  const port = known(spec.incoming.port, "incoming.port");
  return ["-incoming", `tcp:${hostPort(spec.incoming.host, port)}`];
}
