/**
 * The INI dialect DTS reads its configs with: Python's `configparser` with its
 * defaults (`SafeConfigParser`): `key = value` or `key: value`, option names
 * lower-cased, indented lines continue a value, `#` and `;` start comment lines,
 * `[DEFAULT]` applies to every section, duplicate sections and options are errors,
 * and `%(name)s` / `%%` interpolation.
 */

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

const OPTION = /^(.*?)\s*([=:])\s*(.*)$/;
const SECTION = /^\[(.+)\]/;

function interpolate(
  raw: string,
  lookup: (name: string) => string | undefined,
  depth: number,
): { value: string } | { error: string } {
  if (!raw.includes("%")) return { value: raw };
  if (depth > 10) return { error: "interpolation nests too deep" };
  let out = "";
  let index = 0;
  while (index < raw.length) {
    const percent = raw.indexOf("%", index);
    if (percent < 0) {
      out += raw.slice(index);
      break;
    }
    out += raw.slice(index, percent);
    const next = raw[percent + 1];
    if (next === "%") {
      out += "%";
      index = percent + 2;
      continue;
    }
    const match = /^%\(([^)]+)\)s/.exec(raw.slice(percent));
    if (!match) return { error: "'%' must be followed by '%' or '(name)s'" };
    const name = match[1]!.toLowerCase();
    const referenced = lookup(name);
    if (referenced === undefined) return { error: `%(${name})s refers to no option` };
    const inner = interpolate(referenced, lookup, depth + 1);
    if ("error" in inner) return inner;
    out += inner.value;
    index = percent + match[0].length;
  }
  return { value: out };
}

/** Parses INI text as Python's `configparser` does for DTS; collects every syntax error. */
export function parseIni(text: string): IniDocument {
  const errors: IniSyntaxError[] = [];
  const sections = new Map<string, { line: number; options: Map<string, RawOption> }>();
  const defaults = new Map<string, RawOption>();
  let current: Map<string, RawOption> | undefined;
  let currentName: string | undefined;
  let option: RawOption | undefined;
  let indentLevel = 0;
  const lines = text.split(/\r\n|\n|\r/);
  for (const [index, line] of lines.entries()) {
    const number = index + 1;
    const stripped = line.trim();
    const isComment = stripped.startsWith("#") || stripped.startsWith(";");
    if (stripped === "" || isComment) {
      // An empty line inside a value is kept; a comment line is skipped.
      if (!isComment && option) option.lines.push("");
      continue;
    }
    const indent = line.length - line.trimStart().length;
    if (current && option && indent > indentLevel) {
      option.lines.push(stripped);
      continue;
    }
    indentLevel = indent;
    const section = SECTION.exec(stripped);
    if (section) {
      const name = section[1]!;
      option = undefined;
      if (name === "DEFAULT") {
        current = defaults;
        currentName = name;
      } else if (sections.has(name)) {
        errors.push({ line: number, message: `section [${name}] appears twice` });
        current = sections.get(name)!.options;
        currentName = name;
      } else {
        current = new Map();
        currentName = name;
        sections.set(name, { line: number, options: current });
      }
      continue;
    }
    if (!current) {
      errors.push({ line: number, message: "an option before any [section] header" });
      continue;
    }
    const match = OPTION.exec(stripped);
    if (!match || match[1] === "") {
      errors.push({
        line: number,
        message: `${JSON.stringify(stripped)} is neither "key = value" nor a [section]`,
      });
      option = undefined;
      continue;
    }
    const key = match[1]!.trimEnd().toLowerCase();
    if (current.has(key)) {
      errors.push({ line: number, message: `option ${key} appears twice in [${currentName}]` });
    }
    option = { lines: [match[3]!.trim()], line: number };
    current.set(key, option);
  }

  const joined = (raw: RawOption) => raw.lines.join("\n").trimEnd();
  const result: IniSection[] = [];
  for (const [name, { line, options }] of sections) {
    const merged = new Map<string, RawOption>([...defaults, ...options]);
    const lookup = (key: string) => {
      const raw = merged.get(key);
      return raw ? joined(raw) : undefined;
    };
    const values = new Map<string, IniOption>();
    for (const [key, raw] of merged) {
      const interpolated = interpolate(joined(raw), lookup, 0);
      if ("error" in interpolated) {
        errors.push({ line: raw.line, message: `[${name}] ${key}: ${interpolated.error}` });
        continue;
      }
      values.set(key, { value: interpolated.value, line: raw.line });
    }
    result.push({ name, line, options: values });
  }
  return { sections: result, errors };
}
