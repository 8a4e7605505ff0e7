/**
 * configparser's `%(name)s` / `%%` interpolation (its `BasicInterpolation`), with
 * bounds configparser does not have, so that a config whose references multiply
 * can neither stall the reader nor exhaust memory:
 * - each option of a section is expanded once and its expansion reused, so the
 *   work is linear in the text and in what it expands to (configparser expands a
 *   reference again wherever it appears: 10 levels of 10 references are 10¹⁰
 *   expansions);
 * - references nest at most {@link MAX_INTERPOLATION_DEPTH} deep;
 * - a value expands to at most {@link MAX_INTERPOLATED_CHARS} characters;
 * - all the values a config's expansion makes, in every section, with the
 *   `[DEFAULT]` options copied into each, come to at most
 *   {@link MAX_EXPANDED_CHARS} characters ({@link ExpansionBudget}).
 * Problems are returned as messages, never thrown.
 */

/** How deep references may nest (configparser's `MAX_INTERPOLATION_DEPTH`). */
export const MAX_INTERPOLATION_DEPTH = 10;

/** The longest value interpolation may produce: far above any real DTS value. */
export const MAX_INTERPOLATED_CHARS = 1_000_000;

/**
 * The most characters one config's expanded and `[DEFAULT]`-inherited values may
 * hold in all its sections together (the text's own values are not counted).
 */
export const MAX_EXPANDED_CHARS = 4_000_000;

/** What the expansion of one config has made so far, shared by its sections. */
export class ExpansionBudget {
  used = 0;
  /** Set once the budget is spent: the reader stops there. */
  spent = false;

  /** Whether `chars` more would fit; when not, the budget is spent. */
  allows(chars: number): boolean {
    if (this.used + chars <= MAX_EXPANDED_CHARS) return true;
    this.spent = true;
    return false;
  }

  /** Counts `chars` more; false (and spent) when they do not fit. */
  charge(chars: number): boolean {
    if (!this.allows(chars)) return false;
    this.used += chars;
    return true;
  }
}

export const BUDGET_SPENT = `the config's values come to more than ${MAX_EXPANDED_CHARS} characters once [DEFAULT] and %(name)s references are applied`;

const TOO_DEEP = "interpolation nests too deep";
const TOO_LONG = `interpolation makes a value longer than ${MAX_INTERPOLATED_CHARS} characters`;

/**
 * An expanded value and its nesting: the deepest level below it at which a value
 * with a `%` sits (-1: the value has none). A value may be used `depth` levels
 * down only if `depth + level` ≤ {@link MAX_INTERPOLATION_DEPTH}, as configparser
 * checks it.
 */
interface Expanded {
  readonly value: string;
  readonly level: number;
}

/**
 * A failure. `nested` failures depend on the depth the value was reached at (it
 * nests too deep from there): they are not the referenced option's own error.
 */
interface Failure {
  readonly error: string;
  readonly nested?: boolean;
}

type Outcome = Expanded | Failure;

export type Result = { value: string } | { error: string };

const REFERENCE = /%\(([^)]+)\)s/y;

/** The options of one section, each expanded at most once. */
export class SectionInterpolation {
  private readonly done = new Map<string, Outcome>();

  constructor(
    private readonly lookup: (name: string) => string | undefined,
    private readonly budget: ExpansionBudget,
  ) {}

  /** The value of option `name` (which must exist) with its references replaced, or what is wrong. */
  value(name: string): Result {
    const outcome = this.option(name, 0);
    return "error" in outcome ? { error: outcome.error } : { value: outcome.value };
  }

  private option(name: string, depth: number): Outcome {
    const known = this.done.get(name);
    if (known !== undefined) {
      if ("error" in known) return known;
      return depth + known.level > MAX_INTERPOLATION_DEPTH
        ? { error: TOO_DEEP, nested: true }
        : known;
    }
    const raw = this.lookup(name);
    if (raw === undefined) return { error: `%(${name})s refers to no option` };
    const outcome = this.expand(raw, depth);
    // A nested failure is this option's own only where its expansion began.
    if (!("error" in outcome && outcome.nested && depth > 0)) this.done.set(name, outcome);
    return outcome;
  }

  private expand(raw: string, depth: number): Outcome {
    if (!raw.includes("%")) return { value: raw, level: -1 };
    if (depth > MAX_INTERPOLATION_DEPTH) return { error: TOO_DEEP, nested: true };
    let out = "";
    let level = 0;
    let index = 0;
    while (index < raw.length) {
      const percent = raw.indexOf("%", index);
      if (percent < 0) {
        out += raw.slice(index);
        break;
      }
      out += raw.slice(index, percent);
      if (raw[percent + 1] === "%") {
        out += "%";
        index = percent + 2;
        continue;
      }
      REFERENCE.lastIndex = percent;
      const match = REFERENCE.exec(raw);
      if (!match) return { error: "'%' must be followed by '%' or '(name)s'" };
      const inner = this.option(match[1]!.toLowerCase(), depth + 1);
      if ("error" in inner) return inner;
      out += inner.value;
      if (inner.level + 1 > level) level = inner.level + 1;
      if (out.length > MAX_INTERPOLATED_CHARS) return { error: TOO_LONG };
      if (!this.budget.allows(out.length)) return { error: BUDGET_SPENT };
      index = REFERENCE.lastIndex;
    }
    if (!this.budget.charge(out.length)) return { error: BUDGET_SPENT };
    return { value: out, level };
  }
}
