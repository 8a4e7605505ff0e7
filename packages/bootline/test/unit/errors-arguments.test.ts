import {
  assignPorts,
  type BootlineErrorCode,
  buildArgs,
  buildCommand,
  DtsConfigError,
  dtsSections,
  dtsVmSections,
  escapeOptionValue,
  formatCommandLine,
  formatHostForward,
  formatOptionList,
  InvalidArgumentError,
  InvalidSpecError,
  parseArgs,
  parseHostForward,
  pinnedCommand,
  QemuKvmError,
  quoteShellWord,
  readDtsConfig,
  specFacts,
  specIssues,
  splitOptionList,
  splitProcCmdline,
  unassignedPorts,
  validateSpec,
} from "@qemu-kvm/bootline";
import * as core from "@qemu-kvm/core";
import { describe, expect, test } from "vitest";
import { dtsError, invalid, invalidArgument } from "../helpers/spec.js";

describe("errors: one family with core, matched by code", () => {
  test("InvalidSpecError and DtsConfigError are QemuKvmErrors with literal names and codes", () => {
    const spec = invalid(() => buildArgs({ name: "vm 0" }));
    const dts = dtsError(() => readDtsConfig("[vm0]\nname = vm0;\nbogus = x;\n"));
    for (const [error, name, code] of [
      [spec, "InvalidSpecError", "ERR_BOOTLINE_INVALID_SPEC"],
      [dts, "DtsConfigError", "ERR_BOOTLINE_DTS_CONFIG"],
    ] as const) {
      expect(error).toBeInstanceOf(QemuKvmError);
      expect(QemuKvmError.isInstance(error)).toBe(true);
      expect(error.name).toBe(name);
      expect(error.code satisfies BootlineErrorCode).toBe(code);
      expect(error.stack).toContain(name);
    }
    expect(InvalidSpecError.isInstance(spec)).toBe(true);
    expect(InvalidSpecError.isInstance(dts)).toBe(false);
    expect(DtsConfigError.isInstance(dts)).toBe(true);
    expect(DtsConfigError.isInstance(new Error("x"))).toBe(false);
  });

  test("isInstance recognises an error made by another copy of the package (by brand)", () => {
    const copy = Object.create(InvalidSpecError.prototype) as object;
    expect(InvalidSpecError.isInstance(copy)).toBe(true);
    const foreign = { [Symbol.for("@qemu-kvm/core.error.InvalidSpecError")]: true };
    expect(InvalidSpecError.isInstance(foreign)).toBe(true);
    expect(DtsConfigError.isInstance(foreign)).toBe(false);
  });

  test("the core names bootline re-exports are core's own bindings", () => {
    expect(QemuKvmError).toBe(core.QemuKvmError);
    expect(InvalidArgumentError).toBe(core.InvalidArgumentError);
  });

  test("an argument error is core's InvalidArgumentError: a TypeError in the family", () => {
    const error = invalidArgument(() => parseArgs("qemu -S" as never), "argv");
    expect(error).toBeInstanceOf(TypeError);
    expect(QemuKvmError.isInstance(error)).toBe(true);
    expect(error.code satisfies BootlineErrorCode).toBe("ERR_INVALID_ARGUMENT");
    expect(error.message).toBe('argv must be an array of strings (got "qemu -S")');
  });
});

describe("options are checked alike: an unknown or mistyped option is refused", () => {
  const minimal = { name: "vm0", runtimeDir: "/run/qk/vm0" };

  test("buildCommand and pinnedCommand: taskset", () => {
    const error = invalidArgument(
      () => buildCommand(minimal, { tasket: "/usr/bin/taskset" } as never),
      "options.tasket",
    );
    expect(error.message).toBe(
      'options.tasket is not an option; expected one of taskset (got "/usr/bin/taskset")',
    );
    invalidArgument(() => buildCommand(minimal, { taskset: "" }), "options.taskset");
    invalidArgument(() => buildCommand(minimal, "taskset" as never), "options");
    invalidArgument(
      () => pinnedCommand({ file: "q", args: [] }, [1], { taskset: 5 } as never),
      "options.taskset",
    );
  });

  test("validateSpec and specIssues: allowUnassigned", () => {
    invalidArgument(
      () => validateSpec(minimal, { allowUnasigned: true } as never),
      "options.allowUnasigned",
    );
    invalidArgument(
      () => specIssues(minimal, { allowUnassigned: "yes" } as never),
      "options.allowUnassigned",
    );
    expect(specIssues({ ...minimal, serial: { type: "tcp", port: "auto" } }, {})).toHaveLength(1);
  });

  test("readDtsConfig: every option, by name and type", () => {
    const text = "[vm0]\ndisk = file=/a;\n";
    invalidArgument(
      () => readDtsConfig(text, undefined, { hugepages: "/dev/hugepages" } as never),
      "options.hugepages",
    );
    invalidArgument(
      () => readDtsConfig(text, undefined, { sections: "vm0" } as never),
      "options.sections",
    );
    invalidArgument(
      () => readDtsConfig(text, undefined, { runtimeDir: 1 } as never),
      "options.runtimeDir",
    );
    invalidArgument(
      () => readDtsConfig(text, undefined, { listenAddress: "::g" }),
      "options.listenAddress",
    );
    expect(
      readDtsConfig(text, undefined, { listenAddress: "192.0.2.1" }).get("vm0")!.spec.display,
    ).toEqual({
      type: "vnc",
      host: "192.0.2.1",
      display: "auto",
    });
  });

  test("parseHostForward: its syntax options", () => {
    invalidArgument(() => parseHostForward("tcp::1-:2", undefined as never), "options");
    invalidArgument(
      () => parseHostForward("tcp::1-:2", { emptyHostAdress: "0.0.0.0" } as never),
      "options.emptyHostAdress",
    );
    invalidArgument(() => parseHostForward("tcp::1-:2", {} as never), "options.emptyHostAddress");
    invalidArgument(
      () => parseHostForward("tcp::-:2", { emptyHostAddress: "", emptyHostPort: 0 as never }),
      "options.emptyHostPort",
    );
    invalidArgument(
      () => parseHostForward("tcp::1-:", { emptyHostAddress: "", emptyGuestPort: 0 }),
      "options.emptyGuestPort",
    );
  });
});

describe("arguments of the wrong type are refused with their name, not a TypeError of JavaScript", () => {
  const cases: [string, () => unknown, string][] = [
    ["parseArgs(argv with a number)", () => parseArgs(["-name", 5] as never), "argv[1]"],
    ["parseArgs(a number as program)", () => parseArgs([5, "-S"] as never), "argv[0]"],
    [
      "parseArgs(a number after the program)",
      () => parseArgs(["qemu-system-x86_64", "-S", null] as never),
      "argv[2]",
    ],
    [
      "parseArgs(a number in a taskset prefix)",
      () => parseArgs(["taskset", "-c", 3, "qemu-system-x86_64"] as never),
      "argv[2]",
    ],
    ["splitProcCmdline(buffer)", () => splitProcCmdline(Buffer.from("a\0") as never), "text"],
    ["formatCommandLine(file, string)", () => formatCommandLine("q", "-S" as never), "args"],
    ["formatCommandLine(undefined)", () => formatCommandLine(undefined as never, []), "file"],
    ["quoteShellWord(number)", () => quoteShellWord(1 as never), "word"],
    ["escapeOptionValue(undefined)", () => escapeOptionValue(undefined as never), "value"],
    ["splitOptionList(null)", () => splitOptionList(null as never), "text"],
    ["splitOptionList(text, 5)", () => splitOptionList("a", 5 as never), "impliedKey"],
    ["formatOptionList(string)", () => formatOptionList("a=b" as never), "entries"],
    ["formatOptionList([[key]])", () => formatOptionList([["a"]] as never), "entries[0]"],
    ["formatOptionList([[key, 1]])", () => formatOptionList([["a", 1]] as never), "entries[0][1]"],
    ["dtsSections(undefined)", () => dtsSections(undefined as never), "text"],
    ["dtsVmSections(lines)", () => dtsVmSections(["[vm0]"] as never), "text"],
    ["readDtsConfig(undefined)", () => readDtsConfig(undefined as never), "text"],
    ["readDtsConfig(text, defaults object)", () => readDtsConfig("", {} as never), "defaults"],
    ["pinnedCommand(null)", () => pinnedCommand(null as never, [1]), "command"],
    [
      "pinnedCommand(args not an array)",
      () => pinnedCommand({ file: "q", args: "-S" } as never, [1]),
      "command.args",
    ],
    [
      "pinnedCommand(cpus as text)",
      () => pinnedCommand({ file: "q", args: [] }, "1" as never),
      "hostCpus",
    ],
    [
      "formatHostForward(auto port)",
      () =>
        formatHostForward({
          protocol: "tcp",
          hostAddress: "",
          hostPort: "auto" as never,
          guestPort: 22,
        }),
      "forward.hostPort",
    ],
    ["formatHostForward(undefined)", () => formatHostForward(undefined as never), "forward"],
  ];

  test.each(cases)("%s", (_what, call, field) => {
    invalidArgument(call, field);
  });

  test("a spec is never an argument error: whatever it is, its problems are issues", () => {
    for (const input of [undefined, null, 5, "vm0", [], { name: "vm0", nets: "user" }]) {
      invalid(() => buildArgs(input as never));
      invalid(() => specFacts(input as never));
      invalid(() => unassignedPorts(input as never));
      invalid(() => assignPorts(input as never, {}));
    }
  });
});

describe("a CPU list needs at least one CPU wherever it pins", () => {
  test("an empty taskset list is no pinning when argv is read back", () => {
    expect(parseArgs(["taskset", "-c", "", "qemu-system-x86_64", "-name", "vm0"])).toMatchObject({
      file: "qemu-system-x86_64",
      name: "vm0",
    });
    expect(
      parseArgs(["taskset", "-c", "", "qemu-system-x86_64", "-name", "vm0"]).hostCpus,
    ).toBeUndefined();
    expect(parseArgs(["taskset", "-c", "3-4", "qemu"]).hostCpus).toEqual([3, 4]);
  });

  test("an empty cpu.hostCpus is an issue of its field; pinnedCommand refuses one", () => {
    expect(invalid(() => buildArgs({ name: "vm0", cpu: { hostCpus: [] } })).issues).toEqual([
      { path: "cpu.hostCpus", message: "is empty", expected: "at least one host CPU number" },
    ]);
    const error = invalidArgument(() => pinnedCommand({ file: "q", args: [] }, []), "hostCpus");
    expect(error.message).toBe(
      "hostCpus is empty: at least one host CPU is needed (got an array of 0)",
    );
  });

  test("DTS cpupin: a list that is not one is an issue of the cpu key", () => {
    const error = dtsError(() => readDtsConfig("[vm0]\ncpu = number=2,cpupin=1-;\n"));
    expect(error.issues).toEqual([
      {
        section: "vm0",
        key: "cpu",
        line: 2,
        message: "cpupin=1- is not a list of host CPU numbers",
      },
    ]);
  });
});
