// Values as the drivers bind them, column by column, exactly as Prisma's own
// writes store them (bulk.ts explains each type's form). No Prisma runtime
// here: an import's worker process writes through this without loading it.
import { randomUUID } from "node:crypto";
import type { Provider } from "./migrations.js";
import type { ColumnInfo, ModelInfo } from "./models.js";

/** The JSON value null (SQL NULL is plain null): what Prisma.JsonNull stands for. */
export const JSON_NULL = Symbol("JSON null");

/** Bind-parameter limits: SQLite's SQLITE_MAX_VARIABLE_NUMBER (3.32+), PostgreSQL's wire protocol (Int16). */
export const MAX_BIND_PARAMS: Record<Provider, number> = { sqlite: 32766, postgresql: 65535 };

const PG_CAST: Record<string, string> = {
  Int: "::integer",
  BigInt: "::bigint",
  Float: "::double precision",
  Decimal: "::decimal(65,30)",
  Boolean: "::boolean",
  DateTime: "::timestamp(3)",
  Json: "::jsonb",
  Bytes: "::bytea",
};

export function pgCast(c: ColumnInfo): string {
  if (c.isEnum) return `::${quote(c.enumDbName ?? c.type)}`;
  return PG_CAST[c.type] ?? "";
}

export function quote(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** where "YYYY-MM-DDTHH:MM:SS.sssZ" has a digit (d) and what it has elsewhere */
const INSTANT_SHAPE = "dddd-dd-ddTdd:dd:dd.dddZ";

/** The two-digit number at `i` (its characters checked to be digits already). */
function twoDigits(s: string, i: number): number {
  return (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;
}

/**
 * True when the text is exactly what Date#toISOString writes for the instant
 * it names ("2024-07-18T13:47:52.031Z", on a day the calendar has): it can be
 * bound as it stands, with no Date made and formatted again. Date parsing
 * would take "2024-02-30" (as March 1st) and "24:00"; this takes neither.
 */
export function isCanonicalInstant(s: string): boolean {
  if (s.length !== 24) return false;
  for (let i = 0; i < 24; i++) {
    const c = s.charCodeAt(i);
    const want = INSTANT_SHAPE.charCodeAt(i);
    if (want === 100 /* d */ ? c < 48 || c > 57 : c !== want) return false;
  }
  return twoDigits(s, 11) <= 23 && twoDigits(s, 14) <= 59 && twoDigits(s, 17) <= 59 && isCalendarDay(s);
}

/** True when the text begins with a day the calendar has, as "YYYY-MM-DD" (Date parsing takes "2024-02-30" as March 1st). */
export function isCalendarDay(s: string): boolean {
  if (s.length < 10 || s[4] !== "-" || s[7] !== "-") return false;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9]) if (s.charCodeAt(i) < 48 || s.charCodeAt(i) > 57) return false;
  const year = twoDigits(s, 0) * 100 + twoDigits(s, 2);
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0);
}

function bad(model: string, c: ColumnInfo, value: unknown, want: string): Error {
  const shown = typeof value === "bigint" ? `${value}n` : JSON.stringify(value) ?? String(value);
  return new Error(`bulk insert into ${model}: ${c.field} must be ${want}, got ${shown?.slice(0, 80)}`);
}

/** A column's check and conversion of one value: what the INSERT binds for it (null for SQL NULL). */
export type Encode = (value: unknown) => unknown;

/**
 * The value forms: "adapter" as Prisma's driver adapters take them (bulk.ts
 * hands them to $executeRawUnsafe), "driver" as the drivers bind them
 * (driver-write.ts, no Prisma in between): SQLite DateTime as ISO text with
 * "+00:00" (what the better-sqlite3 adapter writes), Boolean as 0/1;
 * PostgreSQL DateTime as UTC text into timestamp(3), BigInt as text.
 */
export type ValueForm = "adapter" | "driver";

// made once per column, provider and form: a million rows check their values through closures chosen up front
const encoders = new WeakMap<ColumnInfo, Encode[]>();

/** The encoder of a column's values. */
export function columnEncoder(model: ModelInfo, c: ColumnInfo, provider: Provider, form: ValueForm): Encode {
  let made = encoders.get(c);
  if (!made) encoders.set(c, (made = []));
  const at = (provider === "sqlite" ? 0 : 2) + (form === "driver" ? 1 : 0);
  return (made[at] ??= makeEncoder(model, c, provider, form));
}

function makeEncoder(model: ModelInfo, c: ColumnInfo, provider: Provider, form: ValueForm): Encode {
  const value = valueEncoder(model, c, provider, form);
  if (!c.isRequired) return (v) => (v === null ? null : value(v));
  return (v) => {
    if (v === null) throw new Error(`bulk insert into ${model.name}: ${c.field} is required, got null`);
    return value(v);
  };
}

/** The encoder of a non-null value. */
function valueEncoder(model: ModelInfo, c: ColumnInfo, provider: Provider, form: ValueForm): Encode {
  const driver = form === "driver";
  if (c.isEnum) {
    const values = model.enumValues.get(c.type);
    return (v) => {
      if (typeof v !== "string" || (values && !values.has(v))) throw bad(model.name, c, v, `one of ${[...(values ?? [])].join("|")}`);
      return v;
    };
  }
  switch (c.type) {
    case "String":
      return (v) => {
        if (typeof v !== "string") throw bad(model.name, c, v, "a string");
        return v;
      };
    case "Int":
      return (v) => {
        if (typeof v !== "number" || !Number.isInteger(v) || v > 2147483647 || v < -2147483648) throw bad(model.name, c, v, "a 32-bit integer");
        return v;
      };
    case "Float":
      return (v) => {
        if (typeof v !== "number" || !Number.isFinite(v)) throw bad(model.name, c, v, "a finite number");
        return v;
      };
    case "BigInt": {
      const text = driver && provider === "postgresql";
      return (v) => {
        let n: bigint;
        if (typeof v === "bigint") n = v;
        else if ((typeof v === "number" && Number.isInteger(v)) || (typeof v === "string" && /^-?\d+$/.test(v))) n = BigInt(v);
        else throw bad(model.name, c, v, "a bigint");
        return text ? n.toString() : n;
      };
    }
    case "Decimal":
      return (v) => {
        const s = typeof v === "object" ? String(v) : v;
        if ((typeof s !== "string" && typeof s !== "number") || Number.isNaN(Number(s))) throw bad(model.name, c, v, "a decimal");
        return provider === "sqlite" ? Number(s) : String(s);
      };
    case "Boolean": {
      const asInt = driver && provider === "sqlite";
      return (v) => {
        if (typeof v !== "boolean") throw bad(model.name, c, v, "a boolean");
        return asInt ? (v ? 1 : 0) : v;
      };
    }
    case "DateTime": {
      const date = (v: unknown): Date => {
        const d = v instanceof Date ? v : typeof v === "string" ? new Date(v) : undefined;
        if (!d || Number.isNaN(d.getTime())) throw bad(model.name, c, v, "a Date or an ISO date string");
        return d;
      };
      if (!driver) return date;
      const iso = (v: unknown) => (typeof v === "string" && isCanonicalInstant(v) ? v : date(v).toISOString());
      if (provider === "sqlite") return (v) => iso(v).replace("Z", "+00:00");
      return (v) => iso(v).slice(0, 23).replace("T", " ");
    }
    case "Json":
      return (v) => (v === JSON_NULL ? "null" : JSON.stringify(v));
    case "Bytes":
      return (v) => {
        if (!(v instanceof Uint8Array)) throw bad(model.name, c, v, "a Buffer or Uint8Array");
        return v;
      };
    default:
      return () => {
        throw new Error(`bulk insert into ${model.name}: unsupported type ${c.type} of ${c.field}`);
      };
  }
}

/** A row's value for a column, or what Prisma's create would fill in for it. */
export function valueOrDefault(info: ModelInfo, c: ColumnInfo, row: Record<string, unknown>, now: Date): unknown {
  const v = row[c.field];
  if (v !== undefined) return v;
  const d = c.default;
  if (d?.kind === "uuid") return randomUUID();
  if (d?.kind === "now" || c.isUpdatedAt) return now;
  if (d?.kind === "literal") return d.value;
  if (d?.kind === "dbgenerated") throw new Error(`bulk insert into ${info.name}: ${c.field} must be given in every row or in none`);
  if (c.isRequired) throw new Error(`bulk insert into ${info.name}: missing required field ${c.field}`);
  return null;
}

/** Columns an INSERT of these rows writes: all but db-generated ones nobody gave a value for; unknown fields refused. */
export function insertColumns(info: ModelInfo, rows: readonly object[]): ColumnInfo[] {
  for (const row of rows) {
    for (const k of Object.keys(row)) {
      if (!info.byField.has(k) && (row as Record<string, unknown>)[k] !== undefined) throw new Error(`bulk insert into ${info.name}: unknown field ${k}`);
    }
  }
  return info.columns.filter((c) => c.default?.kind !== "dbgenerated" || rows.some((row) => (row as Record<string, unknown>)[c.field] !== undefined));
}
