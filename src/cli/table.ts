// A plain-text table for the terminal (no box drawing, no quotes, no index
// column): columns two spaces apart, numbers right-aligned, so it reads in any
// terminal, a log, or a pipe to `column`/`awk`.
export function textTable(head: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(head), ...cells.map(line)].join("\n");
}
