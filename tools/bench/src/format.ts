/** Number and table formatting shared by the plain run and the comparison. */

/** A sample for people: 3 significant-ish digits, whole numbers from 100 up. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 1 ? value.toFixed(2) : value.toFixed(4);
}

/** `0.053` → `"+5.3 %"`, `-0.12` → `"-12.0 %"`. */
export function formatPercent(fraction: number): string {
  const percent = (fraction * 100).toFixed(1);
  return `${fraction >= 0 ? "+" : ""}${percent} %`;
}

/** Rows as lines of left-aligned columns, a rule under the header row. */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const header = rows[0];
  if (!header) return [];
  const widths = header.map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd();
  return [
    line(header),
    widths.map((width) => "-".repeat(width)).join("  "),
    ...rows.slice(1).map(line),
  ];
}
