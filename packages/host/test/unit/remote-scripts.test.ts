import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { startTimeNow } from "@qemu-kvm/testkit";
import { test } from "@qemu-kvm/testkit/fixtures";
import { describe, expect } from "vitest";
import {
  type Header,
  HeaderStripper,
  remoteCommand,
  SUPERVISOR,
  SUPERVISOR_COMMAND,
  WAIT_FOR_EXIT,
  WRAPPER,
} from "../../src/ssh/remote-scripts.js";
import { startZombie } from "../helpers/zombie.js";

const shells = ["dash", "bash", "busybox"].filter((shell) => {
  try {
    execFileSync(shell, shell === "busybox" ? ["true"] : ["-c", "true"]);
    return true;
  } catch {
    return false;
  }
});
const shellArgv = (shell: string) => (shell === "busybox" ? ["busybox", "sh"] : [shell]);

async function strip(
  chunks: Buffer[],
): Promise<{ header: Header | undefined; data: Buffer; stripper: HeaderStripper }> {
  const stripper = new HeaderStripper();
  const output: Buffer[] = [];
  stripper.on("data", (chunk: Buffer) => output.push(chunk));
  const done = once(stripper, "end");
  Readable.from(chunks).pipe(stripper);
  await done;
  return { header: stripper.header, data: Buffer.concat(output), stripper };
}

describe("HeaderStripper", () => {
  const raw = Buffer.concat([
    Buffer.from("Welcome from .bashrc\n"),
    Buffer.from("\x1eqemu-kvm:4242:987654:ok\n"),
    Buffer.from([0, 1, 2, 255, 0x1e, 10]),
    Buffer.from("\x1eqemu-kvm:1:2:ok\n"),
  ]);

  test("takes the header out and passes everything after it unchanged, whatever the chunking", async () => {
    for (const size of [1, 2, 3, 7, 64]) {
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < raw.length; offset += size)
        chunks.push(raw.subarray(offset, offset + size));
      const { header, data, stripper } = await strip(chunks);
      expect(header).toEqual({ pid: 4242, startTime: 987654n, status: "ok" });
      expect(data.equals(raw.subarray(raw.indexOf("\x1eqemu-kvm:4242") + 25))).toBe(true);
      expect(stripper.preamble).toBe("Welcome from .bashrc\n");
    }
  });

  test("reports failures and a missing /proc", async () => {
    expect((await strip([Buffer.from("\x1eqemu-kvm:7:-:not-found\n")])).header).toEqual({
      pid: 7,
      startTime: undefined,
      status: "not-found",
    });
    const none = await strip([Buffer.from("This account is currently not available.\n")]);
    expect(none.header).toBeUndefined();
    expect(none.stripper.preamble).toBe("This account is currently not available.\n");
  });

  test("a malformed header is an error", async () => {
    const stripper = new HeaderStripper();
    const failed = once(stripper, "error");
    stripper.end(Buffer.from("\x1eqemu-kvm:x; rm -rf /:ok\n"));
    stripper.resume();
    await expect(failed).resolves.toBeDefined();
  });
});

describe.each(shells)("the wrapper under %s", (shell) => {
  function run(args: string[]): { header: string; rest: string; status: number } {
    try {
      const out = execFileSync(
        shellArgv(shell)[0]!,
        [...shellArgv(shell).slice(1), "-c", WRAPPER, "qemu-kvm", ...args],
        {
          encoding: "utf8",
        },
      );
      return { header: out.split("\n")[0]!, rest: out.slice(out.indexOf("\n") + 1), status: 0 };
    } catch (error) {
      const out = (error as { stdout: string }).stdout;
      return {
        header: out.split("\n")[0]!,
        rest: "",
        status: (error as { status: number }).status,
      };
    }
  }

  test("reports its pid and start time, applies env and cwd, then execs the command", () => {
    const result = run([
      "/tmp",
      "QK_A=a $(b) 'c'",
      "HOME",
      "--",
      "sh",
      "-c",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, on purpose
      'echo "$$|$QK_A|${HOME-unset}|$PWD"',
    ]);
    const match = /^\x1eqemu-kvm:(\d+):(\d+):ok$/.exec(result.header);
    expect(match).not.toBeNull();
    expect(result.rest).toBe(`${match![1]}|a $(b) 'c'|unset|/tmp\n`);
  });

  test("the caller's variables reach only the command: not the wrapper's state, IFS, PATH or cwd", ({
    tempDir,
  }) => {
    const names = [..."abcdefghijklmnopqrstuvwxyz", "IFS", "CDPATH", "ENV", "BASH_ENV"];
    const env = names.map((name) => `${name}=x ${name}`);
    const path = `${tempDir.path}:/usr/bin:/bin`;
    writeFileSync(join(tempDir.path, "qk-here"), '#!/bin/sh\nprintf "%s|" "$@"; pwd\n', {
      mode: 0o755,
    });
    const script =
      "const names = process.argv.slice(1);" +
      "console.log(JSON.stringify([names.map((name) => process.env[name]), process.cwd()]))";
    const result = run([
      tempDir.path,
      ...env,
      "c=/etc",
      "n=0",
      "IFS=:",
      "--",
      process.execPath,
      "-e",
      script,
      ...names,
    ]);
    expect(result.header).toMatch(/^\x1eqemu-kvm:\d+:\d+:ok$/);
    const expected = names.map((name) => ({ c: "/etc", n: "0", IFS: ":" })[name] ?? `x ${name}`);
    expect(JSON.parse(result.rest)).toEqual([expected, tempDir.path]);
    // The command is looked up in the caller's PATH; `--` ends the variables, whatever follows.
    const found = run(["/tmp", `PATH=${path}`, "n=0", "--", "qk-here", "--", "a=b"]);
    expect(found).toMatchObject({ status: 0, rest: "--|a=b|/tmp\n" });
    expect(run(["/tmp", "PATH=/nowhere", "--", "qk-here"]).header).toMatch(/:not-found$/);
  });

  test("tells not-found, not-executable and bad-cwd apart without running anything", ({
    tempDir,
  }) => {
    expect(run(["", "--", "qk-no-such-command"])).toMatchObject({
      status: 127,
      header: expect.stringMatching(/:not-found$/),
    });
    writeFileSync(join(tempDir.path, "plain"), "#!/bin/sh\n", { mode: 0o644 });
    expect(run(["", "--", join(tempDir.path, "plain")])).toMatchObject({
      header: expect.stringMatching(/:not-executable$/),
    });
    expect(run(["", "--", "/etc"])).toMatchObject({
      header: expect.stringMatching(/:not-executable$/),
    });
    expect(run(["/no/such/dir", "--", "true"])).toMatchObject({
      status: 127,
      header: expect.stringMatching(/:bad-cwd$/),
    });
  });

  test("the whole remote command string, parsed by the shell, runs argv unchanged", () => {
    const command = remoteCommand(
      [
        process.execPath,
        "-e",
        "console.log(JSON.stringify(process.argv.slice(1)))",
        "$(x)",
        "-",
        "'",
      ],
      {
        cwd: "-odd",
        env: {},
      },
    );
    // -odd does not exist: the wrapper must read it as a directory, not an option.
    const out = (() => {
      try {
        return execFileSync(shellArgv(shell)[0]!, [...shellArgv(shell).slice(1), "-c", command], {
          encoding: "utf8",
        });
      } catch (error) {
        return (error as { stdout: string }).stdout;
      }
    })();
    expect(out).toMatch(/:bad-cwd\n$/);
    const ran = execFileSync(
      shellArgv(shell)[0]!,
      [
        ...shellArgv(shell).slice(1),
        "-c",
        remoteCommand([
          process.execPath,
          "-e",
          "console.log(JSON.stringify(process.argv.slice(1)))",
          "$(x)",
          "'",
        ]),
      ],
      { encoding: "utf8" },
    );
    expect(JSON.parse(ran.slice(ran.indexOf("\n") + 1))).toEqual(["$(x)", "'"]);
  });

  test("a command line too long for SSH is refused before sending", () => {
    expect(() => remoteCommand(["echo", "x".repeat(300_000)])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "argv" }),
    );
  });
});

describe.each(shells)("the supervisor under %s", (shell) => {
  function startSupervisor() {
    const [file, ...args] = shellArgv(shell) as [string, ...string[]];
    const supervisor = spawn(file, [...args, "-c", SUPERVISOR, "qemu-kvm-supervisor"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    supervisor.stdout.setEncoding("utf8");
    return supervisor;
  }

  /** A process group leader (as sshd makes every session), killed at the end in any case. */
  function groupLeader() {
    const leader = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
    return leader;
  }

  test("signals a registered group only if the start time matches, and replies", async () => {
    const supervisor = startSupervisor();
    const leader = groupLeader();
    try {
      await once(leader, "spawn");
      const pid = leader.pid!;
      const start = startTimeNow(pid);
      const replies: string[] = [];
      supervisor.stdout.on("data", (text: string) => replies.push(...text.trim().split("\n")));
      supervisor.stdin.write(`sig 1 TERM ${pid} ${start + 1n} 1\n`);
      supervisor.stdin.write(`sig 2 0 ${pid} - 0\n`);
      const exited = once(leader, "exit");
      supervisor.stdin.write(`sig 3 TERM ${pid} ${start} 1\n`);
      expect(await exited).toEqual([null, "SIGTERM"]);
      supervisor.stdin.end();
      await once(supervisor, "exit");
      expect(replies).toEqual(["1 1", "2 0", "3 0"]);
    } finally {
      leader.kill("SIGKILL");
      supervisor.kill("SIGKILL");
    }
  });

  test("a zombie counts as no process for a signal to one process", async () => {
    const supervisor = startSupervisor();
    const { pid, parent } = await startZombie();
    try {
      const replies: string[] = [];
      supervisor.stdout.on("data", (text: string) => replies.push(...text.trim().split("\n")));
      supervisor.stdin.write(`sig 1 TERM ${pid} - 0\n`);
      supervisor.stdin.write(`sig 2 TERM ${pid} ${startTimeNow(pid)} 0\n`);
      supervisor.stdin.write(`sig 3 0 ${parent.pid} - 0\n`);
      supervisor.stdin.end();
      await once(supervisor, "exit");
      expect(replies).toEqual(["1 1", "2 1", "3 0"]);
    } finally {
      parent.kill("SIGKILL");
      supervisor.kill("SIGKILL");
    }
  });

  test("on EOF it stops the groups still registered, not the removed ones", async () => {
    const supervisor = startSupervisor();
    const kept = groupLeader();
    const removed = groupLeader();
    try {
      await Promise.all([once(kept, "spawn"), once(removed, "spawn")]);
      supervisor.stdin.write(`add ${kept.pid} ${startTimeNow(kept.pid!)}\n`);
      supervisor.stdin.write(`add ${removed.pid} ${startTimeNow(removed.pid!)}\n`);
      supervisor.stdin.write(`del ${removed.pid}\n`);
      const exited = once(kept, "exit");
      supervisor.stdin.end();
      expect(await exited).toEqual([null, "SIGTERM"]);
      await once(supervisor, "exit");
      expect(removed.exitCode).toBeNull();
      expect(removed.signalCode).toBeNull();
    } finally {
      kept.kill("SIGKILL");
      removed.kill("SIGKILL");
      supervisor.kill("SIGKILL");
    }
  });
});

describe.each(shells)("waitForExit's script under %s", (shell) => {
  /** Runs the script for `pid` and `start`; resolves its exit code and how long it took. */
  async function wait(pid: number, start = "-", whileWaiting?: () => void) {
    const [file, ...args] = shellArgv(shell) as [string, ...string[]];
    const started = performance.now();
    const script = spawn(
      file,
      [...args, "-c", WAIT_FOR_EXIT, "qemu-kvm-wait", String(pid), start],
      {
        stdio: "inherit",
      },
    );
    try {
      await once(script, "spawn");
      whileWaiting?.();
      const [code] = await once(script, "exit");
      return { code, ms: performance.now() - started };
    } finally {
      script.kill("SIGKILL");
    }
  }

  test("returns at once for a pid that is gone, a zombie, or a process with another start time", async () => {
    let unused = 4_000_000;
    while (existsSync(`/proc/${unused}`)) unused--;
    expect((await wait(unused)).code).toBe(0);
    const { pid, parent } = await startZombie();
    try {
      expect((await wait(pid)).code).toBe(0);
      const other = startTimeNow(parent.pid!) + 1n;
      expect((await wait(parent.pid!, String(other))).code).toBe(0);
    } finally {
      parent.kill("SIGKILL");
    }
  });

  test("waits while the process runs, and returns soon after it exits", async () => {
    const sleeper = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
    try {
      await once(sleeper, "spawn");
      const pid = sleeper.pid!;
      let killedAt = 0;
      const result = await wait(pid, String(startTimeNow(pid)), () => {
        setTimeout(() => {
          killedAt = performance.now();
          sleeper.kill("SIGKILL");
        }, 300);
      });
      expect(result.code).toBe(0);
      expect(killedAt).toBeGreaterThan(0);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });
});

test("the supervisor command, run by a login shell as sshd does, becomes the supervisor", async () => {
  const shell = spawn("sh", ["-c", SUPERVISOR_COMMAND], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    // An answer to a request proves the supervisor runs (and `exec` replaced the shell).
    shell.stdin.write(`sig 1 0 ${process.pid} - 0\n`);
    const [answer] = (await once(shell.stdout, "data")) as [Buffer];
    expect(answer.toString()).toMatch(/^1 [01]\n$/);
    const argv = readFileSync(`/proc/${shell.pid}/cmdline`, "utf8").split("\0").slice(0, -1);
    expect(argv).toEqual(["/bin/sh", "-c", SUPERVISOR, "qemu-kvm-supervisor"]);
    shell.stdin.end(); // the supervisor ends at EOF
    expect(await once(shell, "exit")).toEqual([0, null]);
  } finally {
    shell.kill("SIGKILL");
  }
});
