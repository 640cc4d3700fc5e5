// How OpenMemory's Python exporter writes values, so our archives read the same.

/** `json.dumps(..., ensure_ascii=True)`: every non-ASCII UTF-16 unit as \uXXXX (lower-case hex). */
export function asciiJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `datetime.isoformat()` of an aware UTC value: `+00:00`, microseconds only when non-zero. */
export function pyIso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const d = value instanceof Date ? value : new Date(value);
  const base = d.toISOString().slice(0, 19);
  const ms = d.getUTCMilliseconds();
  return `${base}${ms ? `.${String(ms * 1000).padStart(6, "0")}` : ""}+00:00`;
}

/** Unix seconds, as OpenMemory's export_meta records its date filters. */
export function unixSeconds(d: Date | null | undefined): number | null {
  return d ? Math.floor(d.getTime() / 1000) : null;
}

/** Re-indents a pretty-printed value so it sits `depth` levels deep in the document. */
export function nested(value: unknown, depth: number): string {
  const pad = "  ".repeat(depth);
  return asciiJson(value, 2).replace(/\n/g, `\n${pad}`);
}
