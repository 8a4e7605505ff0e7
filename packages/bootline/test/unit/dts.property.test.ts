/**
 * The DTS reader against anything a config file can hold: sections, keys and
 * values from the DTS corpus, `%(x)s` references (cycles, deep nesting, missing,
 * malformed), garbage bytes, very long lines, and the corpus files mutated. Each
 * call gives specs that build, or a `DtsConfigError` (`ERR_BOOTLINE_DTS_CONFIG`),
 * never another error, and in bounded time. Bounded runs; a failure prints the
 * counterexample and its seed.
 */
import {
  buildArgs,
  DtsConfigError,
  dtsSections,
  dtsVmSections,
  readDtsConfig,
} from "@qemu-kvm/bootline";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { corpusFiles, globals, readCorpus, withPorts } from "../helpers/dts.js";

const LIMITS = { numRuns: 300, interruptAfterTimeLimit: 4000 };
/** One read of a config of at most a few hundred KB must never take long. */
const MAX_READ_MS = 1500;
const TEST_TIMEOUT = { timeout: 30_000 };

const corpus = corpusFiles().map((file) => readCorpus(file));
/** Every line of the corpus that is not a comment: real sections, keys, values, continuations. */
const corpusLines = [
  ...new Set(corpus.flatMap((text) => text.split("\n")).filter((line) => !/^\s*#/.test(line))),
].filter((line) => line.trim() !== "");

/** The corpus's sections, as text: `[name]` and the lines up to the next section. */
const corpusSections = corpus.flatMap((text) =>
  text
    .split(/^(?=\[)/m)
    .filter((section) => section.startsWith("[") && !section.startsWith("[KVM]")),
);

const KEYS = [
  ..."abcxyz".split(""),
  "name",
  "cpu",
  "mem",
  "disk",
  "net",
  "login",
  "daemon",
  "qemu",
  "vnc",
  "migration",
  "serial_port",
  "monitor",
  "qga",
  "machine",
  "kernel",
  "crypto",
  "device",
  "user",
  "virt_type",
  "enable_kvm",
  "pid_file",
  "start",
  "control",
  "usercmd",
];
const SECTIONS = ["vm0", "vm1", "DEFAULT", "KVM", "LIBVIRT", "suite", "scene", "test_x", "vm0 "];

const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 12 }));
/** `%(x)s` and its broken relatives: the references that make interpolation work. */
const reference = fc.oneof(
  key.map((name) => `%(${name})s`),
  fc.constantFrom("%(", "%()s", "%(a)", "%(a)d", "%%", "%", "%(a)s%(a)s%(a)s", "%(%(a)s)s"),
);
const valueFragment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...corpusLines).map((line) => line.trim()) },
  { weight: 3, arbitrary: reference },
  { weight: 2, arbitrary: fc.string({ maxLength: 20, unit: "binary" }) },
  fc.constantFrom("=", ";", ",", ":", " ", "\t", "yes", "no", "auto", "0", "-1", "99999999999"),
  fc.tuple(fc.string({ maxLength: 3 }), fc.integer({ min: 1000, max: 50_000 })).map(
    ([text, times]) => text.repeat(times), // very long values
  ),
);
const value = fc.array(valueFragment, { maxLength: 8 }).map((parts) => parts.join(""));

const line = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...SECTIONS).map((name) => `[${name}]`) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(key, fc.constantFrom(" = ", "=", ": ", " :"))
      .chain(([name, separator]) => value.map((text) => `${name}${separator}${text}`)),
  },
  { weight: 2, arbitrary: value.map((text) => `    ${text}`) }, // a continuation line
  { weight: 3, arbitrary: fc.constantFrom(...corpusLines) },
  fc.string({ maxLength: 40, unit: "binary" }), // garbage, NUL bytes and lone surrogates included
  fc.constantFrom("", "#", ";", "[", "]", "[]", "[vm0", "= x", "\r", "\u0000", "\uFEFF[vm0]"),
);
const configText = fc
  .tuple(
    fc.constantFrom("[vm0]", "[DEFAULT]", ""),
    fc.array(line, { maxLength: 40 }),
    fc.constantFrom("\n", "\r\n"),
  )
  .map(([first, lines, newline]) => [first, ...lines].join(newline));

/** Sections of the corpus renamed and recombined, a few lines edited or added. */
const recombined = fc
  .record({
    sections: fc.array(
      fc.tuple(fc.constantFrom(...corpusSections), fc.constantFrom(...SECTIONS, "vm2", "vm3")),
      { minLength: 1, maxLength: 3 },
    ),
    extra: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), line), { maxLength: 2 }),
  })
  .map(({ sections, extra }) => {
    const lines = sections
      .map(([section, name]) => section.replace(/^\[[^\]\n]*\]/, `[${name}]`))
      .join("\n")
      .split("\n");
    for (const [at, text] of extra) lines.splice(Math.floor(at * lines.length), 0, text);
    return lines.join("\n");
  });

/** `a = %(b)s…`: references that nest `depth` deep, close a cycle, or multiply. */
const referenceGraph = fc
  .record({
    names: fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 12 }),
    width: fc.integer({ min: 1, max: 12 }),
    cycle: fc.boolean(),
    base: fc.oneof(fc.constantFrom("", "vm0", "2", "/img/a.img"), fc.string({ maxLength: 30 })),
    useIn: fc.constantFrom("name", "cpu", "disk", "qemu", "net"),
  })
  .map(({ names, width, cycle, base, useIn }) => {
    const lines = ["[vm0]", `${names[0]} = ${cycle ? `%(${names.at(-1)})s` : base}`];
    for (let level = 1; level < names.length; level++)
      lines.push(`${names[level]} = ${`%(${names[level - 1]})s`.repeat(width)}`);
    lines.push(`${useIn} = ${useIn === "name" ? "name=" : "file="}%(${names.at(-1)})s;`);
    return lines.join("\n");
  });

/** A corpus file with slices cut, repeated, or replaced by garbage. */
const mutatedCorpus = fc
  .record({
    file: fc.nat({ max: corpus.length - 1 }),
    edits: fc.array(
      fc.record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        cut: fc.nat({ max: 200 }),
        insert: fc.oneof(
          fc.string({ maxLength: 30, unit: "binary" }),
          reference,
          fc.constantFrom("\n[vm0]\n", "\n", "=", ";", "%(cpu)s", "\n    "),
        ),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .map(({ file, edits }) => {
    let text = corpus[file]!;
    for (const { at, cut, insert } of edits) {
      const index = Math.floor(at * text.length);
      text = text.slice(0, index) + insert + text.slice(index + cut);
    }
    return text;
  });

/** Reads `text` (or one section of it); asserts specs that build, or a coded error. */
function read(text: string, defaults: string | undefined, sections?: string[]): void {
  try {
    const options = { runtimeDir: "/run/qk/vm", ...(sections ? { sections } : {}) };
    const vms = readDtsConfig(text, defaults, options);
    // What the reader gives is a spec that builds, once its ports are leased.
    for (const vm of vms.values()) expect(buildArgs(withPorts(vm.spec)).length).toBeGreaterThan(0);
  } catch (error) {
    if (!(error instanceof DtsConfigError)) throw error;
    expect(error.code).toBe("ERR_BOOTLINE_DTS_CONFIG");
    expect(error.issues.length).toBeGreaterThan(0);
  }
}

/**
 * Reads `text` whole (with the corpus defaults, or none), then each of its first VM
 * sections alone (one bad section fails a whole read); asserts a result or a coded
 * error every time, and a bounded time.
 */
function readsOrRejects(text: string, defaults?: string): void {
  const started = performance.now();
  read(text, defaults);
  const vms = dtsVmSections(text);
  expect(vms.length).toBeLessThanOrEqual(dtsSections(text).length);
  for (const name of vms.slice(0, 3)) read(text, defaults, [name]);
  expect(performance.now() - started).toBeLessThan(MAX_READ_MS);
}

describe("DTS config text: specs or ERR_BOOTLINE_DTS_CONFIG, never a crash or a hang", () => {
  test("lines of sections, keys, references, corpus values and garbage", TEST_TIMEOUT, () => {
    fc.assert(
      fc.property(configText, fc.boolean(), (text, withDefaults) =>
        readsOrRejects(text, withDefaults ? globals : undefined),
      ),
      { ...LIMITS, seed: 1301 },
    );
  });

  test("corpus sections recombined, a few lines added", TEST_TIMEOUT, () => {
    fc.assert(
      fc.property(recombined, fc.boolean(), (text, withDefaults) =>
        readsOrRejects(text, withDefaults ? globals : undefined),
      ),
      { ...LIMITS, seed: 1305 },
    );
  });

  test("references nested deep, in cycles, and multiplying", TEST_TIMEOUT, () => {
    fc.assert(
      fc.property(referenceGraph, (text) => readsOrRejects(text)),
      { ...LIMITS, seed: 1302 },
    );
  });

  test("the corpus files, mutated", TEST_TIMEOUT, () => {
    fc.assert(
      fc.property(mutatedCorpus, (text) => readsOrRejects(text, globals)),
      { ...LIMITS, seed: 1303 },
    );
  });

  test("garbage as the defaults file (virt_global.cfg)", TEST_TIMEOUT, () => {
    fc.assert(
      fc.property(configText, (defaults) => readsOrRejects("[vm0]\ncpu = number=2;\n", defaults)),
      { ...LIMITS, seed: 1304 },
    );
  });
});
