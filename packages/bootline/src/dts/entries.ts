/** DTS's own value syntax: `;`-separated entries of `,`-separated `k=v` (no escaping). */

/** One entry of a key's value: its sub-options. */
export type Entry = ReadonlyMap<string, string>;

/** A key of a section with its entries, and where it was written (for issues). */
export interface KeyValue {
  readonly key: string;
  readonly entries: readonly Entry[];
  readonly line: number;
  readonly file?: string;
  readonly section: string;
}

/** The entries of a value, and the sub-options given twice within one entry. */
export function parseEntries(value: string): { entries: Entry[]; duplicates: string[] } {
  const entries: Entry[] = [];
  const duplicates: string[] = [];
  for (const rawEntry of value.split(";")) {
    const text = rawEntry.trim();
    if (text === "") continue;
    const entry = new Map<string, string>();
    for (const piece of text.split(",")) {
      if (piece.trim() === "") continue; // a trailing comma, as in `file=/img.img,;`
      const equals = piece.indexOf("=");
      const key = (equals < 0 ? piece : piece.slice(0, equals)).trim();
      const item = equals < 0 ? "" : piece.slice(equals + 1).trim();
      if (entry.has(key)) duplicates.push(key);
      entry.set(key, item);
    }
    entries.push(entry);
  }
  return { entries, duplicates };
}

/** `entry 2: ` when a key has several entries (for messages), else nothing. */
export function entryPrefix(key: KeyValue, index: number): string {
  return key.entries.length > 1 ? `entry ${index + 1}: ` : "";
}
