// Values the typed columns cannot hold exactly, kept beside them.
//
// A DateTime column (Prisma, a JS Date) keeps milliseconds, and OpenMemory
// writes microseconds. A Json column holds what JSON.parse made of the text,
// and JSON.parse turns 9007199254740993 into 9007199254740992 (Node 20 gives
// a reviver no source text to keep the digits). A kind that declares an
// `exactField` keeps, in that nullable JSON column, `{ field: text }` for
// only the fields whose value lost something: an instant as ISO UTC with six
// fractional digits, a JSON value as its JSON text with the numbers as they
// were written. The column stays null when nothing was lost, which is almost
// always, so GraphQL, filters and the other kinds see the ordinary columns
// only.
//
// Why whole texts rather than just the lost digits: an entry counts only
// while its column still holds what the entry rounds to. Whatever writes
// the column without knowing about this (a GraphQL update, a new
// updatedAt) leaves a stale entry that is then ignored, never one that
// brings back an old value or glues old microseconds onto a new time.
//
// In archive lines an instant carries its microseconds in the ISO string
// itself; JSON texts travel in the line's own `exactField` (our line
// writer is JSON.stringify, which cannot write digits a double lacks).
import { isCanonicalInstant } from "../../db/values.js";
import { LosslessNumber, parse as parseLossless, stringify as stringifyLossless } from "lossless-json";

/** `{ field: exact text }` */
export type ExactEntries = Record<string, string>;

const FRACTION = /(T\d{2}:\d{2}:\d{2})[.,](\d+)/;
const EXACT_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * An ISO timestamp as the instant a column holds, in Date#toISOString's form
 * (cut, not rounded, to the millisecond) and, when the text has non-zero
 * digits below the millisecond, its exact form: ISO UTC with six fractional
 * digits. Digits below the microsecond are not kept (line schemas refuse
 * them). A text that names no instant comes back as it is, for the writer to
 * refuse.
 */
export function splitInstant(text: string): { instant: string; exact: string | null } {
  // what every exporter here writes (toISOString): nothing to cut
  if (isCanonicalInstant(text)) return { instant: text, exact: null };
  const m = FRACTION.exec(text);
  const date = new Date(m ? text.replace(FRACTION, `$1.${m[2].padEnd(3, "0").slice(0, 3)}`) : text);
  if (Number.isNaN(date.getTime())) return { instant: text, exact: null };
  const instant = date.toISOString();
  const below = m ? m[2].slice(3, 6).padEnd(3, "0") : "000";
  return { instant, exact: below === "000" ? null : `${instant.slice(0, 23)}${below}Z` };
}

/** The entry for an instant (a Date, or ISO UTC with milliseconds) when it still belongs to that value. */
export function instantEntry(value: Date | string, entry: unknown): string | null {
  if (typeof entry !== "string" || !EXACT_ISO.test(entry)) return null;
  const iso = value instanceof Date ? value.toISOString() : value;
  return entry.slice(0, 23) === iso.slice(0, 23) ? entry : null;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** JSON equality that ignores key order (PostgreSQL's jsonb keeps its own). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
  }
  return false;
}

/** True when the exact JSON text is the column's value with nothing lost: JSON.parse of it gives the value. */
export function jsonEntryMatches(text: unknown, value: unknown): text is string {
  if (typeof text !== "string") return false;
  try {
    return sameJson(JSON.parse(text), value);
  } catch {
    return false;
  }
}

/** The entries of an exact column value (anything else is no entries). */
export function entriesOf(value: unknown): ExactEntries | null {
  if (!isObj(value)) return null;
  const out: ExactEntries = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return Object.keys(out).length ? out : null;
}

/** Keeps an entry for a DateTime or Json column only while it still belongs to the value. */
export function entryStillHolds(type: string, value: unknown, entry: unknown): entry is string {
  if (type === "DateTime") return (value instanceof Date || typeof value === "string") && instantEntry(value, entry) !== null;
  if (type === "Json") return jsonEntryMatches(entry, value);
  return false;
}

// ---------------------------------------------------------------- JSON text with its numbers

/**
 * A number literal JSON.stringify would not write back as it stands: an
 * integer beyond 2^53, but also Python's float forms (`1.5e-07`, `2.0`),
 * which OpenMemory's exporter writes and a faithful copy writes the same way.
 */
const changedByParse = (literal: string) => JSON.stringify(Number(literal)) !== literal;

/** JSON text parsed with the numbers JSON.parse would change kept as LosslessNumbers (their `.value` is the literal); `__proto__` keys dropped. */
export function parseExact(text: string): unknown {
  return parseLossless(text, (key, value) => (key === "__proto__" ? undefined : value), (literal) => (changedByParse(literal) ? new LosslessNumber(literal) : Number(literal)));
}

/** Compact JSON text of a value from `parseExact`, its LosslessNumbers as their literals. */
export function exactText(value: unknown): string {
  return stringifyLossless(value) ?? "null";
}

export function isExactNumber(v: unknown): v is LosslessNumber {
  return v instanceof LosslessNumber;
}

function holdsExactNumber(v: unknown): boolean {
  if (v instanceof LosslessNumber) return true;
  if (Array.isArray(v)) return v.some(holdsExactNumber);
  if (isObj(v)) return Object.values(v).some(holdsExactNumber);
  return false;
}

// any number literal JSON.parse changes has 16+ digits, an exponent or a trailing zero after the point
const MAYBE_CHANGED = /\d{16}|\d[eE]|\.\d*0(?!\d)/;

/** The text parsed by parseExact when it may hold a number JSON.parse changes; undefined when it cannot (or is no JSON). */
function maybeExact(text: string): unknown {
  if (!MAYBE_CHANGED.test(text)) return undefined;
  try {
    return parseExact(text);
  } catch {
    // JSON.parse took it (duplicate keys, say): the ordinary value is all there is
    return undefined;
  }
}

/** The compact exact text of a whole JSON document when JSON.parse changes one of its numbers, else undefined. */
export function exactDocumentText(text: string): string | undefined {
  const value = maybeExact(text);
  return value !== undefined && holdsExactNumber(value) ? exactText(value) : undefined;
}

/**
 * For a record whose JSON text is `text`: the exact texts of the JSON-valued
 * keys whose numbers JSON.parse changes, as entries under our field names
 * (`fields`: the record's key → our field). Undefined when none, which the
 * text alone usually shows without a second parse.
 */
export function exactJsonEntries(text: string, fields: Readonly<Record<string, string>>): ExactEntries | undefined {
  const record = maybeExact(text);
  if (!isObj(record)) return undefined;
  const out: ExactEntries = {};
  for (const [key, field] of Object.entries(fields)) if (Object.hasOwn(record, key) && holdsExactNumber(record[key])) out[field] = exactText(record[key]);
  return Object.keys(out).length ? out : undefined;
}
