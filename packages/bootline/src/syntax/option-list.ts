/**
 * QEMU's option-list syntax (`-drive file=a,,b.img,format=raw`): comma-separated
 * `key=value` pairs where a comma inside a value is written as two commas. This is
 * the one place that escaping happens; every builder goes through `formatOptionList`.
 */
import { InvalidArgumentError } from "@qemu-kvm/core";
import { checkString } from "../arguments.js";

/** A `[key, value]` pair; `key` undefined means QEMU's implied first key (`-machine q35`). */
export type OptionEntry = readonly [key: string | undefined, value: string];

/** One parsed element of an option list. */
export interface OptionPart {
  readonly key: string;
  readonly value: string;
}

/** Escapes a value for a QEMU option list: every `,` becomes `,,`. */
export function escapeOptionValue(value: string): string {
  checkString(value, "value");
  return escapeValue(value);
}

const escapeValue = (value: string) => (value.includes(",") ? value.replaceAll(",", ",,") : value);

const optionKey = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/**
 * Renders entries as one option-list argument, escaping every value.
 * Keys are code-owned names (checked here: a wrong one is a programmer error,
 * `ERR_INVALID_ARGUMENT`); an implied value may only come first and must not
 * contain `=`, which QEMU would read as a key (callers validate such values
 * beforehand).
 */
export function formatOptionList(entries: readonly OptionEntry[]): string {
  if (!Array.isArray(entries))
    throw new InvalidArgumentError("entries", "an array of [key, value] pairs", entries);
  entries.forEach(checkEntry);
  return writeOptionList(entries);
}

/**
 * Internal: `formatOptionList` for the builders, whose keys are literals of this
 * package and whose values validation checked.
 */
export function writeOptionList(entries: readonly OptionEntry[]): string {
  let text = "";
  for (let index = 0; index < entries.length; index++) {
    const [key, value] = entries[index]!;
    if (index > 0) text += ",";
    text += key === undefined ? escapeValue(value) : `${key}=${escapeValue(value)}`;
  }
  return text;
}

function checkEntry(entry: OptionEntry, index: number): void {
  const field = `entries[${index}]`;
  if (!Array.isArray(entry) || entry.length !== 2)
    throw new InvalidArgumentError(field, "a [key, value] pair", entry);
  const [key, value] = entry;
  checkString(value, `${field}[1]`);
  if (key === undefined) {
    if (index !== 0)
      throw new InvalidArgumentError(`${field}[0]`, "a key", key, {
        problem: "is missing: only the first entry may have an implied key",
      });
    if (value.includes("=") || value === "")
      throw new InvalidArgumentError(`${field}[1]`, "a non-empty value without '='", value, {
        problem: "cannot be written as an implied value (empty, or QEMU would read a key)",
      });
    return;
  }
  if (typeof key !== "string" || !optionKey.test(key))
    throw new InvalidArgumentError(
      `${field}[0]`,
      "an option key: a letter, then letters, digits, '_', '.', '-'",
      key,
    );
}

/**
 * Splits an option list the way QEMU's QemuOpts parser does: `,,` is a literal
 * comma; `key=value`; a bare first element takes `impliedKey` when given; any other
 * bare element is a flag (`server` → `server=on`, `nowait` → `wait=off`).
 */
export function splitOptionList(text: string, impliedKey?: string): OptionPart[] {
  checkString(text, "text");
  if (impliedKey !== undefined) checkString(impliedKey, "impliedKey");
  const parts: OptionPart[] = [];
  let position = 0;
  let first = true;
  while (position < text.length) {
    const nameEnd = findNameEnd(text, position);
    if (text[nameEnd] === "=") {
      const key = text.slice(position, nameEnd);
      const [value, next] = readValue(text, nameEnd + 1);
      parts.push({ key, value });
      position = next;
    } else if (first && impliedKey !== undefined) {
      const [value, next] = readValue(text, position);
      parts.push({ key: impliedKey, value });
      position = next;
    } else {
      const flag = text.slice(position, nameEnd);
      if (flag !== "") {
        parts.push(
          flag.startsWith("no") && flag.length > 2
            ? { key: flag.slice(2), value: "off" }
            : { key: flag, value: "on" },
        );
      }
      position = nameEnd + 1;
    }
    first = false;
  }
  return parts;
}

function findNameEnd(text: string, from: number): number {
  const equals = text.indexOf("=", from);
  const comma = text.indexOf(",", from);
  if (equals < 0) return comma < 0 ? text.length : comma;
  return comma < 0 || equals < comma ? equals : comma;
}

/** Reads a value up to a single comma; returns it and the position after that comma. */
function readValue(text: string, from: number): [string, number] {
  let value = "";
  let start = from;
  for (;;) {
    const comma = text.indexOf(",", start);
    if (comma < 0) return [value + text.slice(start), text.length];
    value += text.slice(start, comma);
    if (text[comma + 1] !== ",") return [value, comma + 1];
    value += ",";
    start = comma + 2;
  }
}

/** The last value of `key` in parsed parts (QEMU keeps the last of repeated keys). */
export function lastOption(parts: readonly OptionPart[], key: string): string | undefined {
  let found: string | undefined;
  for (const part of parts) if (part.key === key) found = part.value;
  return found;
}

/** Every value of `key`, in order (for repeatable keys such as `hostfwd`). */
export function allOptions(parts: readonly OptionPart[], key: string): string[] {
  return parts.filter((part) => part.key === key).map((part) => part.value);
}

/** QEMU's boolean option values. Undefined when the text is not one. */
export function parseOnOff(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  switch (value) {
    case "on":
    case "yes":
    case "true":
    case "y":
      return true;
    case "off":
    case "no":
    case "false":
    case "n":
      return false;
    default:
      return undefined;
  }
}
