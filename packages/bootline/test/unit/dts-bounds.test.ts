/**
 * Hostile DTS configs: text that would make the reader's work or output grow far
 * beyond the text itself ends at once, as a `DtsConfigError` naming the key.
 * (No timed assertions: a test's timeout is the bound, and the reader runs in
 * milliseconds on each of these configs.)
 */
import { dtsSections, readDtsConfig } from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { parseIni } from "../../src/dts/ini.js";
import { dtsError } from "../helpers/spec.js";

/** `names[0] = base`, then each name `width` references to the one before. */
function chain(names: readonly string[], base: string, width: number): string[] {
  const lines = [`${names[0]} = ${base}`];
  for (let level = 1; level < names.length; level++)
    lines.push(`${names[level]} = ${`%(${names[level - 1]})s`.repeat(width)}`);
  return lines;
}

/** `prefix0` … `prefixN`. */
const numbered = (prefix: string, last: number) =>
  Array.from({ length: last + 1 }, (_, level) => `${prefix}${level}`);

const BOUNDED = { timeout: 10_000 };

describe("interpolation does linear work and has a bound on what it makes", () => {
  test(
    "references that multiply are expanded once per key: 10 levels of 10 references to an empty value",
    BOUNDED,
    () => {
      // 582 bytes. Expanded reference by reference, k takes 10¹⁰ expansions (hours);
      // each key expanded once, 101 references in all.
      const keys = [..."abcdefghijk"];
      const text = ["[vm0]", ...chain(keys, "", 10), "name = name=vm0%(k)s;"].join("\n");
      expect(text.length).toBeLessThan(600);
      const document = parseIni(text);
      expect(document.errors).toEqual([]);
      expect(document.sections[0]!.options.get("k")!.value).toBe("");
      expect(document.sections[0]!.options.get("name")!.value).toBe("name=vm0;");
      // The helper keys are no DTS VM keys: the reader says so, and only that.
      const error = dtsError(() => readDtsConfig(text));
      expect(error.issues.map((issue) => issue.key)).toEqual(keys);
    },
  );

  test(
    "a chain of doublings past the size bound is an error of the key that passes it, and of the keys using it",
    BOUNDED,
    () => {
      // e0 holds 1,000 characters, each level doubles it: e10 would hold 1,024,000.
      const text = [
        "[vm0]",
        ...chain(numbered("d", 10), "x".repeat(1000), 2),
        "name = name=%(d10)s;",
      ].join("\n");
      const error = dtsError(() => readDtsConfig(text));
      const message = "interpolation makes a value longer than 1000000 characters";
      expect(error.issues).toContainEqual({ line: 12, message: `[vm0] d10: ${message}` });
      expect(error.issues).toContainEqual({ line: 13, message: `[vm0] name: ${message}` });
    },
  );

  test(
    "what [DEFAULT] and references make in all sections together is bounded: an error naming the section and key",
    BOUNDED,
    () => {
      // Each section expands the [DEFAULT] chain again (about 175,000 characters): 40
      // sections would make 7 million.
      const lines = ["[DEFAULT]", ...chain(numbered("m", 8), "xx", 4)];
      for (let section = 0; section < 40; section++) lines.push(`[s${section}]`, "note = yes");
      const text = lines.join("\n");
      const document = parseIni(text);
      expect(document.errors).toHaveLength(1);
      expect(document.errors[0]!.message).toMatch(
        /^\[s\d+\] m\d: the config's values come to more than 4000000 characters once \[DEFAULT\] and %\(name\)s references are applied$/,
      );
      const error = dtsError(() => readDtsConfig(text));
      expect(error.issues).toEqual([
        { line: document.errors[0]!.line, message: document.errors[0]!.message },
      ]);
    },
  );

  test("[DEFAULT] options copied into many sections count against the bound too", BOUNDED, () => {
    // 2,000 defaults in 2,000 sections: 4 million copies from 36 KB of text.
    const lines = ["[DEFAULT]"];
    for (let key = 0; key < 2000; key++) lines.push(`k${key} = v`);
    for (let section = 0; section < 2000; section++) lines.push(`[s${section}]`);
    const text = lines.join("\n");
    const document = parseIni(text);
    expect(document.errors).toHaveLength(1);
    expect(document.errors[0]!.message).toMatch(/^\[s\d+\] k\d+: the config's values come to/);
    // Which sections exist does not depend on their values.
    expect(dtsSections(text)).toHaveLength(2000);
  });

  test(
    "a long line of spaces is read in linear time (no regular expression backtracking)",
    BOUNDED,
    () => {
      // Matched against /^(.*?)\s*([=:])\s*(.*)$/, this line takes minutes.
      const line = `a${" ".repeat(400_000)}b`;
      expect(parseIni(`[vm0]\n${line}\n`).errors).toEqual([
        {
          line: 2,
          message: expect.stringMatching(
            /^"a {20,}.*" is neither "key = value" nor a \[section\]$/,
          ),
        },
      ]);
      expect(
        parseIni(`[vm0]\nkey${" ".repeat(400_000)}= value\n`).sections[0]!.options.get("key"),
      ).toEqual({ value: "value", line: 2 });
    },
  );
});

describe("[KVM] defaults are read once, not once per VM section", () => {
  test("a key of [KVM] that no VM has is one issue of virt_global.cfg, however many sections", () => {
    const sections = Array.from({ length: 3 }, (_, index) => `[vm${index}]\ndisk = file=/a;`);
    const error = dtsError(() =>
      readDtsConfig(sections.join("\n"), "[KVM]\nmemory = size=1;\ncpu = number=2,number=3;\n"),
    );
    expect(error.issues).toEqual([
      {
        file: "virt_global.cfg",
        section: "KVM",
        key: "memory",
        line: 2,
        message: expect.stringMatching(/^is not a DTS VM key/),
      },
      {
        file: "virt_global.cfg",
        section: "KVM",
        key: "cpu",
        line: 3,
        message: "number is given twice in one entry",
      },
    ]);
  });
});
