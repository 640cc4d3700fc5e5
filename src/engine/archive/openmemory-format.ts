// How OpenMemory's Python exporter writes values, so our archives read the same.
import { isExactNumber } from "../kinds/exact.js";

// Python escapes DEL too: everything outside space..~ that JSON.stringify left as it is
const escapeNonAscii = (text: string) => text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/**
 * `json.dumps(value, ensure_ascii=True)` (with `indent`: `indent=indent`):
 * every non-ASCII UTF-16 unit as \uXXXX (lower-case hex), Python's separators
 * (`", "` and `": "` on one line, `","` at line ends when indented), and
 * exact numbers (kinds/exact.ts) as the literals they were read from.
 */
export function asciiJson(value: unknown, indent?: number): string {
  return escapeNonAscii(pyDump(value, indent ? " ".repeat(indent) : null, ""));
}

function pyDump(value: unknown, unit: string | null, pad: string): string {
  if (isExactNumber(value)) return value.value;
  if (value === null || value === undefined || typeof value === "function") return "null";
  if (typeof value !== "object") return JSON.stringify(value) ?? "null";
  const inner = unit === null ? "" : pad + unit;
  const open = unit === null ? "" : `\n${inner}`;
  const close = unit === null ? "" : `\n${pad}`;
  const sep = unit === null ? ", " : `,\n${inner}`;
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return `[${open}${value.map((v) => pyDump(v, unit, inner)).join(sep)}${close}]`;
  }
  if (value instanceof Date) return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined && typeof v !== "function");
  if (!entries.length) return "{}";
  return `{${open}${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pyDump(v, unit, inner)}`).join(sep)}${close}}`;
}

const ISO_UTC = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/;

/**
 * `datetime.isoformat()` of an aware UTC value: `+00:00`, microseconds only
 * when non-zero. A string keeps the microseconds it has (line data: ISO UTC,
 * exact to the microsecond); a Date has milliseconds.
 */
export function pyIso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const m = ISO_UTC.exec(typeof value === "string" ? value : "") ?? ISO_UTC.exec((value instanceof Date ? value : new Date(value)).toISOString());
  if (!m) throw new RangeError(`not a timestamp OpenMemory can write: ${String(value)}`);
  const micros = (m[2] ?? "").padEnd(6, "0");
  return `${m[1]}${micros === "000000" ? "" : `.${micros}`}+00:00`;
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
