/**
 * Spec objects as a JSON file or a caller might hand them over: valid fragments of
 * a VmSpec mixed with anything (`fc.anything`: null-prototype objects, sparse
 * arrays, boxed values, bigints, dates, maps, hostile keys). Every function that
 * takes a spec gives its result or an `InvalidSpecError` (`ERR_BOOTLINE_INVALID_SPEC`)
 * with issues, never another error; a spec found valid builds, and its argv read
 * back gives its facts. Bounded runs; a failure prints the counterexample and its seed.
 */
import {
  assignPorts,
  buildArgs,
  buildCommand,
  InvalidSpecError,
  parseArgs,
  specFacts,
  specIssues,
  specWarnings,
  unassignedPorts,
  type VmSpec,
  validateSpec,
} from "@qemu-kvm/bootline";
import fc from "fast-check";
import { describe, expect, test } from "vitest";

const LIMITS = { numRuns: 400, interruptAfterTimeLimit: 4000 };
const TEST_TIMEOUT = { timeout: 30_000 };

const hostile = fc.anything({
  maxDepth: 3,
  maxKeys: 5,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
  key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "constructor", "type")),
});

/** A plausible value, often valid, sometimes anything. */
const maybe = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostile });

const text = fc.oneof(
  fc.constantFrom("", "a", "vm0", "/run/qk/vm0/x", "a,b", "a,,b", "=", "x=y", "-x", "\n"),
  fc.string({ maxLength: 20, unit: "binary" }),
);
const path = fc.oneof(
  fc.constantFrom("/img/a.img", "/img/a,b.img", "nbd:h:1", "json:{}", "/x/\u0000", "rel/a"),
  fc.string({ maxLength: 20 }).map((name) => `/img/${name}`),
);
const address = fc.constantFrom(
  "127.0.0.1",
  "0.0.0.0",
  "::",
  "::1",
  "10.0.0.1",
  "x",
  "",
  "::ffff:0.0.0.0",
);
const port = fc.oneof(fc.constant("auto"), fc.integer({ min: -1, max: 70_000 }), fc.double());
const slot = fc.constantFrom("04.0", "1f.7", "00.0", "20.0", "0000:00:04.0", "x");
const properties = fc.dictionary(
  fc.oneof(fc.constantFrom("x-vga", "id", "addr", "romfile"), fc.string({ maxLength: 6 })),
  fc.oneof(fc.boolean(), fc.integer(), text),
  { maxKeys: 3 },
);

const forward = fc.oneof(
  fc.record(
    {
      protocol: maybe(fc.constantFrom("tcp", "udp")),
      hostAddress: maybe(address),
      hostPort: port,
      guestAddress: maybe(fc.constantFrom("10.0.2.15", "x")),
      guestPort: maybe(fc.integer({ min: 0, max: 70_000 })),
    },
    { requiredKeys: ["hostPort", "guestPort"] },
  ),
  fc.constantFrom("tcp::10022-:22", "udp:0.0.0.0:5353-:53", "tcp:x", ":-:"),
);
const nic = {
  model: maybe(fc.constantFrom("e1000", "virtio-net-pci", "a,b")),
  mac: maybe(fc.constantFrom("52:54:00:12:34:56", "x")),
  pciAddress: maybe(slot),
  romfile: maybe(path),
  deviceProperties: maybe(properties),
};
const net = fc.oneof(
  fc.record(
    { type: fc.constant("user"), hostForwards: maybe(fc.array(forward, { maxLength: 3 })), ...nic },
    { requiredKeys: ["type"] },
  ),
  fc.record(
    {
      type: fc.constant("tap"),
      ifname: maybe(text),
      script: maybe(path),
      vhost: maybe(fc.boolean()),
    },
    { requiredKeys: ["type"] },
  ),
  fc.record({ type: fc.constant("bridge"), bridge: maybe(text) }, { requiredKeys: ["type"] }),
  fc.record(
    { type: fc.constant("vhost-user"), socketPath: maybe(path), queues: maybe(fc.integer()) },
    { requiredKeys: ["type"] },
  ),
);
const drive = fc.record(
  {
    path: maybe(path),
    format: maybe(fc.constantFrom("raw", "qcow2", "raw,if=none")),
    interface: maybe(fc.constantFrom("virtio", "ide", "none", "x")),
    index: maybe(fc.integer({ min: -1, max: 10 })),
    media: maybe(fc.constantFrom("disk", "cdrom")),
    readOnly: maybe(fc.boolean()),
    cache: maybe(fc.constantFrom("none", "unsafe")),
  },
  { requiredKeys: ["path"] },
);
const serial = fc.oneof(
  fc.record(
    {
      type: fc.constantFrom("telnet", "tcp"),
      host: maybe(address),
      port,
      log: maybe(fc.constant({})),
    },
    { requiredKeys: ["type", "port"] },
  ),
  fc.record(
    { type: fc.constant("unix"), path: maybe(path), log: maybe(fc.record({ path })) },
    {
      requiredKeys: ["type"],
    },
  ),
);
const display = fc.oneof(
  fc.constant({ type: "none" }),
  fc.record(
    {
      type: fc.constant("vnc"),
      host: maybe(address),
      display: maybe(fc.oneof(fc.constant("auto"), fc.integer({ min: -1, max: 100 }))),
    },
    { requiredKeys: ["type", "display"] },
  ),
  fc.record(
    { type: fc.constant("vnc"), socket: fc.constant("unix"), path: maybe(path) },
    { requiredKeys: ["type", "socket"] },
  ),
);
const incoming = fc.oneof(
  fc.record({ host: maybe(address), port }, { requiredKeys: ["port"] }),
  fc.record({ type: fc.constant("unix"), path: maybe(path) }, { requiredKeys: ["type"] }),
);
const extraArgs = fc.array(
  fc.oneof(
    fc.constantFrom(
      "-qmp",
      "tcp::4444,server,nowait",
      "-s",
      "-gdb",
      "-device",
      "id=net0",
      "id=x",
      "-vnc",
      ":1",
    ),
    text,
  ),
  { maxLength: 4 },
);

/** A VmSpec-shaped object: each field valid-looking, missing, or anything. */
const specLike = fc.record(
  {
    name: maybe(fc.constantFrom("vm0", "a-b.c_d", "", "-x", "x".repeat(64))),
    runtimeDir: maybe(fc.constantFrom("/run/qk/vm0", "relative", `/${"d".repeat(120)}`)),
    uuid: maybe(fc.oneof(fc.uuid(), text)),
    accelerator: maybe(fc.constantFrom("kvm", "tcg", "x")),
    paused: maybe(fc.boolean()),
    machine: maybe(
      fc.record(
        { type: maybe(fc.constantFrom("q35", "pc", "virt")), properties: maybe(properties) },
        { requiredKeys: [] },
      ),
    ),
    cpu: maybe(
      fc.record(
        {
          model: maybe(fc.constantFrom("host", "max", "a,b")),
          count: maybe(fc.integer({ min: 0, max: 2000 })),
          hostCpus: maybe(fc.array(fc.integer({ min: -1, max: 9000 }), { maxLength: 4 })),
        },
        { requiredKeys: [] },
      ),
    ),
    memory: maybe(
      fc.record(
        {
          sizeMiB: maybe(fc.integer({ min: 0, max: 1 << 22 })),
          backend: maybe(
            fc.constantFrom(
              { type: "memfd" },
              { type: "file", path: "/dev/hugepages" },
              { type: "x" },
            ),
          ),
        },
        { requiredKeys: ["sizeMiB"] },
      ),
    ),
    drives: maybe(fc.array(drive, { maxLength: 3 })),
    pflash: maybe(
      fc.array(fc.record({ path: maybe(path), readOnly: maybe(fc.boolean()) }), { maxLength: 2 }),
    ),
    kernel: maybe(
      fc.record(
        {
          path: maybe(path),
          initrdPath: maybe(path),
          append: maybe(text),
          root: maybe(text),
          console: maybe(fc.record({ device: text })),
        },
        { requiredKeys: ["path"] },
      ),
    ),
    nets: maybe(fc.array(net, { maxLength: 3 })),
    passthrough: maybe(
      fc.array(
        fc.record(
          {
            host: maybe(fc.constantFrom("0000:81:00.1", "81:00.1", "x")),
            pciAddress: maybe(slot),
            deviceProperties: maybe(properties),
          },
          { requiredKeys: ["host"] },
        ),
        { maxLength: 2 },
      ),
    ),
    qmp: maybe(fc.oneof(fc.constant({}), fc.record({ path }))),
    monitor: maybe(fc.oneof(fc.constant({}), fc.record({ path }))),
    serial: maybe(serial),
    guestAgent: maybe(
      fc.record({ path: maybe(path), pciAddress: maybe(slot) }, { requiredKeys: [] }),
    ),
    display: maybe(display),
    incoming: maybe(incoming),
    rng: maybe(fc.record({ source: maybe(path), pciAddress: maybe(slot) }, { requiredKeys: [] })),
    extraArgs: maybe(extraArgs),
  },
  { requiredKeys: [] },
);

/** Any text QEMU can take in a file name (no NUL), as an absolute path. */
const anyPath = fc
  .string({ maxLength: 24, unit: "binary" })
  .map((name) => `/d/${name.replaceAll("\0", "")}`);

/** Specs that are valid more often than not, with hostile paths and strings where those are allowed. */
const mostlyValid = fc.record(
  {
    name: fc.constantFrom("vm0", "a-b.c_d"),
    runtimeDir: fc.constant("/run/qk/vm0"),
    uuid: fc.uuid(),
    paused: fc.boolean(),
    cpu: fc.record({
      model: fc.constantFrom("host", "max"),
      count: fc.integer({ min: 1, max: 8 }),
    }),
    memory: fc.record({ sizeMiB: fc.integer({ min: 16, max: 4096 }) }),
    drives: fc.array(
      fc.record(
        { path: anyPath, format: fc.constantFrom("raw", "qcow2"), readOnly: fc.boolean() },
        { requiredKeys: ["path"] },
      ),
      { maxLength: 3 },
    ),
    kernel: fc.record(
      { path: anyPath, initrdPath: anyPath, append: fc.string({ maxLength: 30 }) },
      { requiredKeys: ["path"] },
    ),
    nets: fc.array(
      fc.record({
        type: fc.constant("user"),
        hostForwards: fc.array(
          fc.record({
            hostPort: fc.constant("auto"),
            guestPort: fc.integer({ min: 1, max: 65535 }),
          }),
          { maxLength: 2 },
        ),
      }),
      { maxLength: 2 },
    ),
    qmp: fc.oneof(fc.constant({}), fc.record({ path: anyPath })),
    guestAgent: fc.constant({}),
    serial: fc.oneof(
      fc.record({
        type: fc.constantFrom("telnet", "tcp"),
        host: address,
        port: fc.constant("auto"),
      }),
      fc.record({ type: fc.constant("unix"), path: anyPath, log: fc.record({ path: anyPath }) }),
    ),
    display: fc.oneof(
      fc.constant({ type: "vnc", display: "auto" }),
      fc.record({ type: fc.constant("vnc"), socket: fc.constant("unix"), path: anyPath }),
    ),
    incoming: fc.oneof(
      fc.constant({ port: "auto" }),
      fc.record({ type: fc.constant("unix"), path: anyPath }),
    ),
    machine: fc.record({
      type: fc.constant("q35"),
      properties: fc.dictionary(
        fc.constantFrom("kernel-irqchip", "x-a"),
        fc.string({ maxLength: 10 }),
        { maxKeys: 2 },
      ),
    }),
  },
  { requiredKeys: ["name", "runtimeDir"] },
);

const anySpec = fc.oneof({ weight: 6, arbitrary: specLike }, { weight: 1, arbitrary: hostile });

/** `fn()`'s result, or `undefined` when it threw `InvalidSpecError` with issues; anything else fails. */
function resultOrInvalid<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof InvalidSpecError)) throw error;
    expect(error.code).toBe("ERR_BOOTLINE_INVALID_SPEC");
    expect(error.issues.length).toBeGreaterThan(0);
    return undefined;
  }
}

/** Every port left `"auto"` given a free number (displays from 5901), as a pool would. */
function leased(spec: VmSpec): VmSpec {
  const ports = Object.fromEntries(
    unassignedPorts(spec).map((request, index) => [
      request.field,
      request.kind === "display" ? 5901 + index : 20_000 + index,
    ]),
  );
  return assignPorts(spec, ports);
}

describe("spec objects: argv or ERR_BOOTLINE_INVALID_SPEC, never a crash", () => {
  test("every function that takes a spec", TEST_TIMEOUT, () => {
    fc.assert(
      fc.property(anySpec, (input) => {
        const spec = input as VmSpec;
        const issues = specIssues(input, { allowUnassigned: true });
        expect(Array.isArray(issues)).toBe(true);
        const checked = resultOrInvalid(() => validateSpec(input, { allowUnassigned: true }));
        expect(checked === undefined).toBe(issues.length > 0);
        resultOrInvalid(() => specWarnings(spec));
        resultOrInvalid(() => unassignedPorts(spec));
        resultOrInvalid(() => specFacts(spec));
        resultOrInvalid(() => buildCommand(spec));
        const args = resultOrInvalid(() => buildArgs(spec));
        if (args) expect(args.every((arg) => typeof arg === "string")).toBe(true);
      }),
      { ...LIMITS, seed: 1311 },
    );
  });

  test(
    "a spec found valid builds once its ports are leased, and its argv reads back as its facts",
    TEST_TIMEOUT,
    () => {
      let valid = 0;
      fc.assert(
        fc.property(fc.oneof(mostlyValid, specLike), (input) => {
          if (specIssues(input, { allowUnassigned: true }).length > 0) return;
          valid++;
          const spec = leased(input as VmSpec);
          const args = buildArgs(spec);
          expect(args.some((arg) => arg.includes("\0"))).toBe(false);
          // Facts are what argv says, unless extraArgs (trusted, raw) add to them.
          if (!spec.extraArgs?.length) expect(parseArgs(args)).toEqual(specFacts(spec));
        }),
        { ...LIMITS, seed: 1312 },
      );
      expect(valid).toBeGreaterThan(50);
    },
  );
});
