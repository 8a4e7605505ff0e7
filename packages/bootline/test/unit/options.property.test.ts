/**
 * QEMU option values: any string escaped into an option list (`,` → `,,`) reads
 * back, through the same splitting QEMU does and through `parseArgs`, as that one
 * value: it can never add a key, a second value, or another option. And `parseArgs`
 * takes any command line (a hostile neighbour's `/proc/PID/cmdline`) in bounded
 * time, giving facts or `ERR_INVALID_ARGUMENT`. Bounded runs; a failure prints the
 * counterexample and its seed.
 */
import {
  buildArgs,
  escapeOptionValue,
  formatOptionList,
  InvalidArgumentError,
  parseArgs,
  splitOptionList,
  type VmSpec,
} from "@qemu-kvm/bootline";
import fc from "fast-check";
import { describe, expect, test } from "vitest";

const LIMITS = { numRuns: 500, interruptAfterTimeLimit: 3000 };
const TEST_TIMEOUT = { timeout: 30_000 };
/** One parse of a command line of at most a few hundred KB must never take long. */
const MAX_PARSE_MS = 500;

/** Strings full of what option lists and command lines treat specially. */
const hostileValue = fc.oneof(
  fc.string({ maxLength: 30, unit: "binary" }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          ",",
          ",,",
          "=",
          ",format=qcow2",
          ",if=none",
          ",file.driver=nbd",
          " -drive ",
          "\n",
        ),
        fc.constantFrom("nbd:127.0.0.1:10809", "json:{}", "-S", "id=x", "server", "nowait", ""),
        fc.string({ maxLength: 5 }),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join("")),
);
const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,8}$/);

describe("option values: escaped, they read back as themselves and inject nothing", () => {
  test(
    "escapeOptionValue then QEMU's splitting gives the value back, one part",
    TEST_TIMEOUT,
    () => {
      fc.assert(
        fc.property(key, hostileValue, (name, value) => {
          expect(splitOptionList(`${name}=${escapeOptionValue(value)}`)).toEqual([
            { key: name, value },
          ]);
        }),
        { ...LIMITS, seed: 1321 },
      );
    },
  );

  test(
    "formatOptionList of any entries splits back into exactly those entries",
    TEST_TIMEOUT,
    () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(key, hostileValue), { maxLength: 6 }), (entries) => {
          const text = formatOptionList(entries);
          expect(splitOptionList(text)).toEqual(
            entries.map(([name, value]) => ({ key: name, value })),
          );
        }),
        { ...LIMITS, seed: 1322 },
      );
    },
  );

  test(
    "any path of a drive, kernel, pidfile or socket reads back from argv as itself, and adds nothing",
    TEST_TIMEOUT,
    () => {
      // Under /d/<what>/: no two the same (a spec may not name one file twice); a
      // socket path fits in sun_path.
      const path = (what: string) =>
        hostileValue.map((value) => `/d/${what}/${value.replaceAll("\0", "").slice(0, 20)}`);
      fc.assert(
        fc.property(
          path("drive"),
          path("kernel"),
          path("pid"),
          path("qmp"),
          (drive, kernel, pidfile, socket) => {
            const spec: VmSpec = {
              name: "vm0",
              runtimeDir: "/run/qk/vm0",
              drives: [{ path: drive, format: "raw" }],
              kernel: { path: kernel },
              pidfile: { path: pidfile },
              qmp: { path: socket },
              serial: { type: "unix", path: "/d/serial.sock" },
            };
            const facts = parseArgs(buildArgs(spec));
            expect(facts.drives).toEqual([
              { id: "drive0", path: drive, format: "raw", readOnly: false, snapshot: false },
            ]);
            expect(facts.kernel).toBe(kernel);
            expect(facts.pidfile).toBe(pidfile);
            expect(facts.runtimePaths.filter((entry) => entry.kind === "qmp")).toEqual([
              expect.objectContaining({ path: socket }),
            ]);
            expect(facts.listeners).toEqual([]);
          },
        ),
        { ...LIMITS, numRuns: 300, seed: 1323 },
      );
    },
  );
});

/** Command lines as `/proc/PID/cmdline` may hold them: a program, `taskset`, options, junk. */
const option = fc.oneof(
  fc.constantFrom(
    "-name",
    "-drive",
    "-blockdev",
    "-chardev",
    "-mon",
    "-qmp",
    "-serial",
    "-monitor",
    "-netdev",
    "-nic",
    "-net",
    "-device",
    "-object",
    "-vnc",
    "-incoming",
    "-gdb",
    "-s",
    "-S",
    "-hda",
    "-cdrom",
    "-pidfile",
    "-uuid",
    "-kernel",
    "--drive",
    "-",
    "--",
  ),
  fc.string({ maxLength: 6 }).map((name) => `-${name}`),
);
const optionValue = fc.oneof(
  hostileValue,
  fc.constantFrom(
    "socket,id=c,host=0.0.0.0,port=1,server=on",
    "chardev=c,mode=control",
    "user,id=n,hostfwd=tcp::1-:22,hostfwd=udp:1.2.3.4:5-:6",
    "tcp::4444",
    "telnet:[::]:7001,server,nowait",
    '{"driver":"file","filename":"/a","node-name":"x"}',
    "{",
    "vfio-pci,host=81:00.1,id=pt0,addr=04.0",
    ":1",
    "unix:/a,server",
  ),
  fc
    .tuple(fc.constantFrom("x", ",", "f", "{["), fc.integer({ min: 1000, max: 120_000 }))
    .map(([text, times]) => text.repeat(times)),
);
const tasksetPrefix = fc.oneof(
  fc.constant([]),
  fc
    .tuple(
      fc.constantFrom("taskset", "/usr/bin/taskset"),
      fc.constantFrom([], ["-c"], ["-a", "-p"], ["--cpu-list"]),
      fc.oneof(
        fc.constantFrom("0-3", "f", "0x3", "1,2,99999", ""),
        fc.integer({ min: 1, max: 131_072 }).map((digits) => "f".repeat(digits)),
        // Not more: core's parseCpuList expands every range (20,000 × "0-8191," takes 7 s).
        fc.integer({ min: 1, max: 50 }).map((count) => "0-8191,".repeat(count)),
      ),
    )
    .map(([program, flags, cpus]) => [program, ...flags, cpus]),
);
const commandLine = fc
  .tuple(
    tasksetPrefix,
    fc.constantFrom([], ["qemu-system-x86_64"], ["/usr/bin/qemu-kvm"]),
    fc.array(fc.oneof(option, optionValue), { maxLength: 16 }),
  )
  .map(([prefix, program, rest]) => [...prefix, ...program, ...rest]);

describe("parseArgs: any command line gives facts in bounded time", () => {
  test("options, values, a taskset prefix and junk", TEST_TIMEOUT, () => {
    fc.assert(
      fc.property(commandLine, (argv) => {
        const started = performance.now();
        const facts = parseArgs(argv);
        expect(performance.now() - started).toBeLessThan(MAX_PARSE_MS);
        expect((facts.hostCpus ?? []).every((cpu) => Number.isInteger(cpu) && cpu <= 8191)).toBe(
          true,
        );
      }),
      { ...LIMITS, numRuns: 300, seed: 1324 },
    );
  });

  test("an argv with an element that is not a string is ERR_INVALID_ARGUMENT", TEST_TIMEOUT, () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(option, hostileValue), { maxLength: 12 }),
        fc.nat(),
        fc.anything(),
        (argv, at, junk) => {
          fc.pre(typeof junk !== "string");
          const index = argv.length === 0 ? 0 : at % argv.length;
          const bad = [...argv.slice(0, index), junk, ...argv.slice(index)];
          try {
            parseArgs(bad as string[]);
          } catch (error) {
            if (!(error instanceof InvalidArgumentError)) throw error;
            expect(error.code).toBe("ERR_INVALID_ARGUMENT");
          }
        },
      ),
      { ...LIMITS, seed: 1325 },
    );
  });
});
