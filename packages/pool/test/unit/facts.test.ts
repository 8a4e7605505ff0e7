import { describe, expect, test } from "vitest";
import { parseInfo } from "../../src/anchor/info.js";
import { parseResponse } from "../../src/anchor/response.js";
import {
  parseNetLines,
  parsePciLines,
  parseProcLines,
  parseSsLines,
} from "../../src/transactions/facts.js";

describe("anchor output", () => {
  test("a response splits into sections with their bodies, and a status", () => {
    const text = "\x1eN state 1\nline one\nline two\n\x1eN proc\n1 x\n\x1eN net\n";
    const response = parseResponse(text, "N", "error lock-timeout waited 1 s");
    expect(response.sections).toEqual([
      { tag: "state", args: "1", body: "line one\nline two\n" },
      { tag: "proc", args: "", body: "1 x\n" },
      { tag: "net", args: "", body: "" },
    ]);
    expect(response.status).toBe("error");
    expect(response.detail).toBe("lock-timeout waited 1 s");
  });

  test("info describes the anchor and the CPUs", () => {
    const info = parseInfo(
      "pid 42\nstart 123\nboot b-1\nuid 0\ndir /run/x y\ndurable 1\nlockwait 1\nwatchdog 0\nss 1\nonline 0-3\nisolated \nnode 0 0-1\nnode 1 2-3\n",
    );
    expect(info).toEqual({
      pid: 42,
      startTime: 123n,
      bootId: "b-1",
      uid: 0,
      dir: "/run/x y",
      durable: true,
      lockWait: true,
      watchdog: false,
      ss: true,
      online: [0, 1, 2, 3],
      isolated: [],
      nodes: new Map([
        [0, [0, 1]],
        [1, [2, 3]],
      ]),
    });
    expect(parseInfo("start 1\n")).toBeUndefined();
  });

  test("/proc/PID/stat lines: state and start time; `-` is no process; odd comms are skipped", () => {
    const fields = "S 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 1000";
    const procs = parseProcLines(
      `10 10 (sh) ${fields}\n11 -\n12 12 (a ) b) Z 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 888 1\n13 13 (x\n`,
    );
    expect(procs.get(10)).toEqual({ state: "S", startTime: "777" });
    expect(procs.has(11)).toBe(true);
    expect(procs.get(11)).toBeUndefined();
    expect(procs.get(12)).toEqual({ state: "Z", startTime: "888" });
    expect(procs.has(13)).toBe(false);
  });

  test("/proc/net lines: TIME_WAIT does not count, everything else does", () => {
    const busy = parseNetLines(
      "tcp 6000 0A\ntcp 6001 06\ntcp6 6002 01\nudp 6003 07\nudp6 6000 07\n",
    );
    expect([...busy.entries()]).toEqual([
      [6000, ["tcp", "udp6"]],
      [6002, ["tcp6"]],
      [6003, ["udp"]],
    ]);
  });

  test("ss lines: the same rule, IPv6 told by brackets, the header skipped", () => {
    const busy = parseSsLines(
      [
        "Netid State     Recv-Q Send-Q Local Address:Port  Peer Address:Port Process",
        "tcp   LISTEN    0      128        127.0.0.1:6000      0.0.0.0:*",
        "tcp   TIME-WAIT 0      0          127.0.0.1:6001    127.0.0.1:44773",
        "udp   UNCONN    0      0              [::1]:6002         [::]:*",
        "tcp   ESTAB     0      0     [::ffff:127.0.0.1]:6003 [::ffff:127.0.0.1]:5000",
        "udp   UNCONN    0      0                  *:6004             *:*",
        "tcp   LISTEN    0      10     127.0.0.1%lo:6005      0.0.0.0:*",
        "",
      ].join("\n"),
    );
    expect([...busy.entries()]).toEqual([
      [6000, ["tcp"]],
      [6002, ["udp6"]],
      [6003, ["tcp6"]],
      [6004, ["udp"]],
      [6005, ["tcp"]],
    ]);
  });

  test("sysfs PCI lines: PF, VF, plain device, missing", () => {
    const devices = parsePciLines(
      [
        "device 0000:81:00.0 - 8",
        "device 0000:81:02.0 0000:81:00.0 -",
        "device 0000:00:01.0 - -",
        "missing 0000:99:00.0",
      ].join("\n"),
    );
    expect(devices.get("0000:81:00.0")).toEqual({ address: "0000:81:00.0", function: "pf" });
    expect(devices.get("0000:81:02.0")).toEqual({
      address: "0000:81:02.0",
      function: "vf",
      pf: "0000:81:00.0",
    });
    expect(devices.get("0000:00:01.0")).toEqual({ address: "0000:00:01.0", function: "device" });
    expect(devices.has("0000:99:00.0")).toBe(true);
    expect(devices.get("0000:99:00.0")).toBeUndefined();
  });
});
