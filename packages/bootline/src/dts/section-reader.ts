/** Reading one section's keys: issues with their place, sub-option checks, typed values. */
import type { DtsConfigIssue } from "../errors.js";
import { type Entry, entryPrefix, type KeyValue } from "./entries.js";
import type { DtsReadOptions } from "./types.js";

/** A key accepted but ignored, or mapped differently from DTS, with the reason. */
export interface Note {
  readonly key: string;
  readonly message: string;
}

export class SectionReader {
  readonly issues: DtsConfigIssue[] = [];
  constructor(
    readonly section: string,
    readonly options: DtsReadOptions,
  ) {}

  issue(key: KeyValue | undefined, message: string): void {
    this.issues.push({
      ...(key?.file !== undefined ? { file: key.file } : {}),
      section: key?.section ?? this.section,
      ...(key ? { key: key.key, line: key.line } : {}),
      message,
    });
  }

  /** Checks an entry's sub-keys: unknown ones are errors, `ignored` ones become notes. */
  only(
    key: KeyValue,
    entry: Entry,
    index: number,
    allowed: readonly string[],
    special: { ignored?: Record<string, string>; rejected?: Record<string, string> } = {},
    notes?: Note[],
  ): boolean {
    let ok = true;
    for (const name of entry.keys()) {
      if (allowed.includes(name)) continue;
      const where = entryPrefix(key, index);
      if (special.ignored?.[name] !== undefined) {
        notes?.push({
          key: key.key,
          message: `${where}${name} ignored: ${special.ignored[name]}`,
        });
        continue;
      }
      ok = false;
      if (special.rejected?.[name] !== undefined)
        this.issue(key, `${where}${name} ${special.rejected[name]}`);
      else
        this.issue(
          key,
          `${where}${JSON.stringify(name)} is not a sub-option of ${key.key}${allowed.length ? ` (known: ${allowed.join(", ")})` : ""}`,
        );
    }
    return ok;
  }

  single(key: KeyValue): Entry | undefined {
    if (key.entries.length === 0) {
      this.issue(key, "has no value");
      return undefined;
    }
    if (key.entries.length > 1) {
      this.issue(key, `has ${key.entries.length} entries; one is expected`);
      return undefined;
    }
    return key.entries[0];
  }

  integer(
    key: KeyValue,
    name: string,
    text: string | undefined,
    min: number,
    max: number,
  ): number | undefined {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      this.issue(key, `${name}=${text} is not an integer ${min}–${max}`);
      return undefined;
    }
    return Number(text);
  }

  yesNo(key: KeyValue, name: string, text: string | undefined): boolean | undefined {
    if (text === undefined) return undefined;
    if (text === "yes") return true;
    if (text === "no") return false;
    this.issue(key, `${name}=${text} must be yes or no`);
    return undefined;
  }
}
