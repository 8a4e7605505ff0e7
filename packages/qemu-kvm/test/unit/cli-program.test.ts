import { describe, expect, test } from "vitest";
import { parseCommandLine } from "../../src/cli/program.js";

function invocation(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseCommandLine(argv, env);
  if (parsed.kind !== "run") throw new Error(`printed: ${parsed.text}`);
  return parsed.invocation;
}

function usage(argv: string[]) {
  try {
    parseCommandLine(argv);
  } catch (error) {
    return error as { code: string; field: string; verb?: string; message: string };
  }
  throw new Error("no usage error");
}

describe("the command line, verb by verb", () => {
  test("start: the spec file, its options, the target and the login source", () => {
    expect(
      invocation([
        "start",
        "/specs/vm.yaml",
        "--name",
        "vm7",
        "--control",
        "agent",
        "--quick",
        "--timeout",
        "2m",
        "--host",
        "lab@lab1:2222",
        "--identity",
        "/keys/id",
        "--runtime-base",
        "/run/x",
        "--user",
        "tester",
        "--password-file",
        "/secrets/pw",
        "--json",
      ]),
    ).toEqual({
      verb: "start",
      spec: {
        file: "/specs/vm.yaml",
        section: undefined,
        name: "vm7",
        emulator: undefined,
        control: "agent",
      },
      target: {
        ssh: { user: "lab", host: "lab1", port: 2222 },
        identity: "/keys/id",
        knownHosts: undefined,
        runtimeBase: "/run/x",
        poolDir: undefined,
      },
      login: { user: "tester", passwordFile: "/secrets/pw" },
      quick: true,
      timeoutMs: 120_000,
      json: true,
    });
  });

  test("the runtime base and pool directory come from the environment unless given", () => {
    const env = { QEMU_KVM_RUNTIME_BASE: "/env/rt", QEMU_KVM_POOL_DIR: "/env/pool" };
    expect(invocation(["ps"], env)).toMatchObject({
      target: { runtimeBase: "/env/rt", poolDir: "/env/pool" },
    });
    expect(invocation(["ps", "--pool-dir", "/given"], env)).toMatchObject({
      target: { runtimeBase: "/env/rt", poolDir: "/given" },
    });
  });

  test("relative paths are made absolute here (for this machine)", () => {
    expect(invocation(["argv", "vm.json", "--runtime-base", "rt"])).toMatchObject({
      spec: { file: `${process.cwd()}/vm.json` },
      runtimeBase: `${process.cwd()}/rt`,
    });
  });

  test("ps: a table on a terminal, JSON otherwise, unless --json or --table says", () => {
    expect(invocation(["ps"])).toMatchObject({ verb: "ps", format: undefined, all: false });
    expect(invocation(["ps", "--json"])).toMatchObject({ format: "json" });
    expect(invocation(["ps", "--table", "--all"])).toMatchObject({ format: "table", all: true });
  });

  test("exec: everything after -- is the guest command, options included", () => {
    expect(invocation(["exec", "vm0", "--timeout", "5", "--", "ls", "-l", "--color"])).toEqual(
      expect.objectContaining({
        verb: "exec",
        name: "vm0",
        command: ["ls", "-l", "--color"],
        timeoutMs: 5_000,
      }),
    );
  });

  test("monitor: a QMP command with JSON arguments, or an HMP command line", () => {
    expect(invocation(["monitor", "vm0", "device_del", '{"id":"nic1"}'])).toMatchObject({
      command: "device_del",
      arguments: { id: "nic1" },
      hmp: false,
    });
    expect(invocation(["monitor", "vm0", "--hmp", "info pci"])).toMatchObject({
      command: "info pci",
      arguments: undefined,
      hmp: true,
    });
  });

  test("stop, console, argv and demo", () => {
    expect(invocation(["stop", "vm0", "--guest-timeout", "0"])).toMatchObject({
      verb: "stop",
      guestTimeoutMs: 0,
      timeoutMs: undefined,
    });
    expect(invocation(["console", "vm0"])).toMatchObject({ verb: "console", name: "vm0" });
    expect(invocation(["argv", "/x/dts.cfg", "--section", "vm1"])).toMatchObject({
      verb: "argv",
      spec: { file: "/x/dts.cfg", section: "vm1" },
    });
    expect(invocation(["demo"])).toEqual({ verb: "demo", timeoutMs: undefined });
  });

  test("help and version are text for stdout; no verb is the usage on stderr, exit 2", () => {
    expect(parseCommandLine(["--help"])).toMatchObject({
      kind: "print",
      to: "stdout",
      exitCode: 0,
      text: expect.stringContaining("Commands:"),
    });
    expect(parseCommandLine(["exec", "--help"])).toMatchObject({
      to: "stdout",
      text: expect.stringContaining("QEMU_KVM_PASSWORD"),
    });
    expect(parseCommandLine(["--version"], {}, "1.2.3")).toMatchObject({ text: "1.2.3\n" });
    expect(parseCommandLine([])).toMatchObject({ kind: "print", to: "stderr", exitCode: 2 });
  });
});

describe("a bad command line is ERR_INVALID_ARGUMENT naming the option and the verb", () => {
  test.each([
    [["frob"], "frob", undefined, "unknown command 'frob'"],
    [["ps", "--colour"], "--colour", "ps", "unknown option '--colour'"],
    [["exec", "vm0", "ls", "-l"], "-l", "exec", "go after --"],
    [["exec", "vm0"], "COMMAND", "exec", "missing required argument"],
    [["start"], "FILE", "start", "missing required argument 'file'"],
    [["start", "vm.json", "--timeout", "soon"], "--timeout", "start", "takes a duration"],
    [["start", "vm.json", "--control", "ssh"], "--control", "start", "Allowed choices"],
    [["start", "vm.json", "--name", "../etc"], "--name", "start", "a VM name"],
    [["stop", "bad name"], "NAME", "stop", "a VM name"],
    [["ps", "--host", "user@"], "--host", "ps", "not a host name"],
    [["ps", "--identity", "/k"], "--identity", "ps", "give --host too"],
    [["ps", "--json", "--table"], "--table", "ps", "exclude each other"],
    [["ps", "--host", "lab1", "--runtime-base", "rt"], "--runtime-base", "ps", "absolute path"],
    [["monitor", "vm0", "device_del", "{id}"], "ARGUMENTS", "monitor", "a JSON object"],
    [["monitor", "vm0", "query-x", "[1]"], "ARGUMENTS", "monitor", "a JSON object"],
    [["monitor", "vm0", "--hmp", "info", "pci"], "ARGUMENTS", "monitor", "as one argument"],
    [["ps", "extra"], "ps", "ps", "too many arguments"],
  ])("%j", (argv, field, verb, message) => {
    const error = usage(argv);
    expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field, verb });
    expect(error.message).toContain(message);
  });
});
