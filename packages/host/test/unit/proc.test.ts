import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  isLiveProcess,
  parseCmdline,
  parseProcStat,
  pollUntilExited,
  processState,
  readProcessInfo,
  stillRunning,
} from "../../src/shared/proc.js";

describe("/proc parsing", () => {
  test("reads fields after the last ')' so a hostile command name cannot shift them", () => {
    const fields = [
      "S",
      "1",
      "7",
      "7",
      "0",
      "-1",
      "4194560",
      "1",
      "0",
      "0",
      "0",
      "0",
      "0",
      "0",
      "0",
      "20",
      "0",
      "1",
      "0",
      "123456",
    ];
    const stat = parseProcStat(`4242 (evil) S 99 (x) y) ${fields.join(" ")} 0 0\n`);
    expect(stat).toMatchObject({
      pid: 4242,
      comm: "evil) S 99 (x) y",
      state: "S",
      ppid: 1,
      startTime: 123456n,
    });
    expect(parseProcStat("garbage")).toBeUndefined();
  });

  test("agrees with this process's own /proc entry", () => {
    const stat = parseProcStat(readFileSync("/proc/self/stat", "utf8"))!;
    expect(stat.pid).toBe(process.pid);
    expect(stat.ppid).toBe(process.ppid);
    expect(stat.startTime).toBe(
      BigInt(readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[19]!),
    );
  });

  test("cmdline: NUL-separated, trailing NUL optional, empty for kernel threads", () => {
    expect(parseCmdline(Buffer.from("sleep\u00001000\u0000"))).toEqual(["sleep", "1000"]);
    expect(parseCmdline(Buffer.from("a b\u0000\u0000c\u0000"))).toEqual(["a b", "", "c"]);
    expect(parseCmdline(Buffer.from("rewritten argv"))).toEqual(["rewritten argv"]);
    expect(parseCmdline(Buffer.alloc(0))).toEqual([]);
  });

  test("readProcessInfo reads again when the pid was reused between reads, and zombies are not alive", async () => {
    // Fields 5 to 21 are zeros; field 22 is the start time.
    const line = (comm: string, state: string, start: number) =>
      `10 (${comm}) ${state} 1 ${Array(17).fill(0).join(" ")} ${start} 0 0`;
    const stats = [
      line("a", "S", 100),
      line("b", "S", 200),
      line("b", "S", 200),
      line("b", "Z", 200),
    ];
    const reads: string[] = [];
    const info = await readProcessInfo(10, async (path) => {
      reads.push(path);
      if (path.endsWith("cmdline")) return Buffer.from("b\u0000");
      return Buffer.from(stats.shift()!);
    });
    expect(info).toMatchObject({ pid: 10, cmdline: ["b"], startTime: 200n, state: "zombie" });
    expect(reads).toHaveLength(6);
    expect(isLiveProcess(info)).toBe(false);
    expect(isLiveProcess({ ...info!, state: "sleeping" }, 200n)).toBe(true);
    expect(isLiveProcess({ ...info!, state: "sleeping" }, 100n)).toBe(false);
    expect(isLiveProcess({ ...info!, state: "dead" })).toBe(false);
    expect(await readProcessInfo(11, async () => undefined)).toBeUndefined();
  });

  test("states are named from their letter; an unknown letter is unknown", () => {
    expect(
      ["R", "S", "D", "T", "t", "Z", "X", "x", "I", "P", "W", "K", "?"].map(processState),
    ).toEqual([
      "running",
      "sleeping",
      "disk-sleep",
      "stopped",
      "tracing-stop",
      "zombie",
      "dead",
      "dead",
      "idle",
      "parked",
      "waking",
      "wakekill",
      "unknown",
    ]);
  });

  test("pollUntilExited checks at once, then backs off from 5 ms, and returns when gone, a zombie or another process", async () => {
    const line = (state: string, start: number) =>
      Buffer.from(`7 (q) ${state} 1 ${Array(17).fill(0).join(" ")} ${start} 0 0`);
    expect(stillRunning(line("S", 5), undefined)).toBe(true);
    expect(stillRunning(line("S", 5), 6n)).toBe(false);
    expect(stillRunning(line("Z", 5), undefined)).toBe(false);
    expect(stillRunning(undefined, undefined)).toBe(false);
    const answers = [line("S", 5), line("R", 5), line("S", 5), line("Z", 5)];
    const times: number[] = [];
    const started = performance.now();
    await pollUntilExited(
      7,
      5n,
      async () => {
        times.push(performance.now() - started);
        return answers.shift();
      },
      new AbortController().signal,
    );
    expect(answers).toEqual([]);
    // At once, then after about 5, 10 and 20 ms more (timers never fire early).
    expect(times[0]).toBeLessThan(5);
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(34);
    const controller = new AbortController();
    const reason = new Error("enough");
    const waiting = pollUntilExited(7, undefined, async () => line("S", 5), controller.signal);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });
});
