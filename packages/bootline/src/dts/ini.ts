/**
 * The INI dialect DTS reads its configs with: Python's `configparser` with its
 * defaults (`SafeConfigParser`): `key = value` or `key: value`, option names
 * lower-cased, indented lines continue a value, `#` and `;` start comment lines,
 * `[DEFAULT]` applies to every section, duplicate sections and options are errors,
 * and `%(name)s` / `%%` interpolation.
 */
import { interpolate } from "./interpolate.js";

export interface IniOption {
  /** The value with continuation lines joined by `\n`, after interpolation. */
  readonly value: string;
  /** 1-based line of the option name. */
  readonly line: number;
}

export interface IniSection {
  readonly name: string;
  readonly line: number;
  /** In file order; `[DEFAULT]` options are included unless the section sets them. */
  readonly options: ReadonlyMap<string, IniOption>;
}

export interface IniSyntaxError {
  readonly line: number;
  readonly message: string;
}

export interface IniDocument {
  readonly sections: readonly IniSection[];
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

const OPTION = /^(.*?)\s*([=:])\s*(.*)$/;
const SECTION = /^\[(.+)\]/;

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
    const match = OPTION.exec(stripped);
    if (!match || match[1] === "") {
      this.errors.push({
        line: number,
        message: `${JSON.stringify(stripped)} is neither "key = value" nor a [section]`,
      });
      this.option = undefined;
      return;
    }
    const key = match[1]!.trimEnd().toLowerCase();
    if (this.current.has(key))
      this.errors.push({
        line: number,
        message: `option ${key} appears twice in [${this.currentName}]`,
      });
    this.option = { lines: [match[3]!.trim()], line: number };
    this.current.set(key, this.option);
  }
}

const joined = (raw: RawOption) => raw.lines.join("\n").trimEnd();

/** A section's values: `[DEFAULT]` under its own options, each value interpolated. */
function resolveSection(
  name: string,
  section: RawSection,
  defaults: ReadonlyMap<string, RawOption>,
  errors: IniSyntaxError[],
): IniSection {
  const merged = new Map<string, RawOption>([...defaults, ...section.options]);
  const lookup = (key: string) => {
    const raw = merged.get(key);
    return raw ? joined(raw) : undefined;
  };
  const values = new Map<string, IniOption>();
  for (const [key, raw] of merged) {
    const interpolated = interpolate(joined(raw), lookup);
    if ("error" in interpolated) {
      errors.push({ line: raw.line, message: `[${name}] ${key}: ${interpolated.error}` });
      continue;
    }
    values.set(key, { value: interpolated.value, line: raw.line });
  }
  return { name, line: section.line, options: values };
}

/** Parses INI text as Python's `configparser` does for DTS; collects every syntax error. */
export function parseIni(text: string): IniDocument {
  const lines = new Lines();
  for (const [index, line] of text.split(/\r\n|\n|\r/).entries()) lines.read(line, index + 1);
  const errors = lines.errors;
  const sections = [...lines.sections].map(([name, section]) =>
    resolveSection(name, section, lines.defaults, errors),
  );
  return { sections, errors };
}
