/**
 * The INI dialect DTS reads its configs with: Python's `configparser` with its
 * defaults (`SafeConfigParser`): `key = value` or `key: value`, option names
 * lower-cased, indented lines continue a value, `#` and `;` start comment lines,
 * `[DEFAULT]` applies to every section, duplicate sections and options are errors,
 * and `%(name)s` / `%%` interpolation.
 */
import { describeValue } from "@qemu-kvm/core";
import { BUDGET_SPENT, ExpansionBudget, SectionInterpolation } from "./interpolate.js";

export interface IniOption {
  /** The value with continuation lines joined by `\n`, after interpolation. */
  readonly value: string;
  /** 1-based line of the option name. */
  readonly line: number;
}

export interface IniSection {
  readonly name: string;
  readonly line: number;
  /** The section's own option names, in file order (whatever became of their values). */
  readonly keys: readonly string[];
  /**
   * In file order, `[DEFAULT]`'s first; `[DEFAULT]` options are included unless the
   * section sets them. Incomplete when interpolation failed (see the errors).
   */
  readonly options: ReadonlyMap<string, IniOption>;
}

export interface IniSyntaxError {
  readonly line: number;
  readonly message: string;
}

export interface IniDocument {
  readonly sections: readonly IniSection[];
  /** The option names of `[DEFAULT]`, which every section has too. */
  readonly defaultKeys: readonly string[];
  readonly errors: readonly IniSyntaxError[];
}

interface RawOption {
  lines: string[];
  line: number;
}

interface RawSection {
  line: number;
  options: Map<string, RawOption>;
}

const SECTION = /^\[(.+)\]/;

/**
 * `key = value` or `key: value` split at the first delimiter, as configparser's
 * `(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$` does, in linear time (that
 * expression backtracks quadratically over a long run of spaces in JavaScript).
 */
function splitOption(stripped: string): { key: string; value: string } | undefined {
  const equals = stripped.indexOf("=");
  const colon = stripped.indexOf(":");
  const at = equals < 0 ? colon : colon < 0 ? equals : Math.min(equals, colon);
  if (at < 0) return undefined;
  const key = stripped.slice(0, at).trimEnd();
  if (key === "") return undefined;
  return { key, value: stripped.slice(at + 1).trim() };
}

/** The line reader's state: where options go, and the option continuation lines extend. */
class Lines {
  readonly errors: IniSyntaxError[] = [];
  readonly sections = new Map<string, RawSection>();
  readonly defaults = new Map<string, RawOption>();
  private current: Map<string, RawOption> | undefined;
  private currentName: string | undefined;
  private option: RawOption | undefined;
  private indentLevel = 0;

  read(line: string, number: number): void {
    const stripped = line.trim();
    const isComment = stripped.startsWith("#") || stripped.startsWith(";");
    if (stripped === "" || isComment) {
      // An empty line inside a value is kept; a comment line is skipped.
      if (!isComment && this.option) this.option.lines.push("");
      return;
    }
    const indent = line.length - line.trimStart().length;
    if (this.current && this.option && indent > this.indentLevel) {
      this.option.lines.push(stripped);
      return;
    }
    this.indentLevel = indent;
    const section = SECTION.exec(stripped);
    if (section) this.openSection(section[1]!, number);
    else this.readOption(stripped, number);
  }

  private openSection(name: string, number: number): void {
    this.option = undefined;
    this.currentName = name;
    if (name === "DEFAULT") {
      this.current = this.defaults;
      return;
    }
    const existing = this.sections.get(name);
    if (existing) {
      this.errors.push({ line: number, message: `section [${name}] appears twice` });
      this.current = existing.options;
      return;
    }
    this.current = new Map();
    this.sections.set(name, { line: number, options: this.current });
  }

  private readOption(stripped: string, number: number): void {
    if (!this.current) {
      this.errors.push({ line: number, message: "an option before any [section] header" });
      return;
    }
    const option = splitOption(stripped);
    if (!option) {
      this.errors.push({
        line: number,
        message: `${describeValue(stripped)} is neither "key = value" nor a [section]`,
      });
      this.option = undefined;
      return;
    }
    const key = option.key.toLowerCase();
    if (this.current.has(key))
      this.errors.push({
        line: number,
        message: `option ${key} appears twice in [${this.currentName}]`,
      });
    this.option = { lines: [option.value], line: number };
    this.current.set(key, this.option);
  }
}

const joined = (raw: RawOption) => raw.lines.join("\n").trimEnd();

/** An option's text (continuation lines joined) before interpolation. */
interface RawValue {
  readonly text: string;
  readonly line: number;
}

function rawValues(options: ReadonlyMap<string, RawOption>): Map<string, RawValue> {
  const values = new Map<string, RawValue>();
  for (const [key, raw] of options) values.set(key, { text: joined(raw), line: raw.line });
  return values;
}

/**
 * A section's values: `[DEFAULT]` under its own options, each value interpolated.
 * What `[DEFAULT]` lends and what interpolation makes is charged to `budget`;
 * once it is spent, the error names the option where it ran out and nothing more
 * is read.
 */
function resolveSection(
  name: string,
  section: { line: number; values: ReadonlyMap<string, RawValue> },
  defaults: ReadonlyMap<string, RawValue>,
  budget: ExpansionBudget,
  errors: IniSyntaxError[],
): IniSection {
  const own = section.values;
  const lookup = (key: string) => (own.get(key) ?? defaults.get(key))?.text;
  const interpolation = new SectionInterpolation(lookup, budget);
  const values = new Map<string, IniOption>();
  const resolve = (key: string, raw: RawValue, inherited: boolean): boolean => {
    if (inherited && !budget.charge(key.length + raw.text.length)) {
      errors.push({ line: raw.line, message: `[${name}] ${key}: ${BUDGET_SPENT}` });
      return false;
    }
    const interpolated = interpolation.value(key);
    if ("error" in interpolated)
      errors.push({ line: raw.line, message: `[${name}] ${key}: ${interpolated.error}` });
    else values.set(key, { value: interpolated.value, line: raw.line });
    return !budget.spent;
  };
  const keys = [...own.keys()];
  let going = true;
  for (const [key, raw] of defaults) {
    const mine = own.get(key);
    going = resolve(key, mine ?? raw, mine === undefined);
    if (!going) break;
  }
  for (const [key, raw] of own) {
    if (!going) break;
    if (!defaults.has(key)) going = resolve(key, raw, false);
  }
  return { name, line: section.line, keys, options: values };
}

/**
 * Parses INI text as Python's `configparser` does for DTS; collects every syntax
 * error. Linear in the text and in what interpolation makes of it (bounded: see
 * `./interpolate.ts`).
 */
export function parseIni(text: string): IniDocument {
  const lines = new Lines();
  for (const [index, line] of text.split(/\r\n|\n|\r/).entries()) lines.read(line, index + 1);
  const errors = lines.errors;
  const defaults = rawValues(lines.defaults);
  const budget = new ExpansionBudget();
  const sections: IniSection[] = [];
  for (const [name, section] of lines.sections) {
    const values = rawValues(section.options);
    // Past the budget, sections keep their names and keys but no values.
    if (budget.spent)
      sections.push({ name, line: section.line, keys: [...values.keys()], options: new Map() });
    else
      sections.push(resolveSection(name, { line: section.line, values }, defaults, budget, errors));
  }
  return { sections, defaultKeys: [...defaults.keys()], errors };
}
