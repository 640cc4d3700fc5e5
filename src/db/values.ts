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

function bad(model: string, c: ColumnInfo, value: unknown, want: string): Error {
  const shown = typeof value === "bigint" ? `${value}n` : JSON.stringify(value) ?? String(value);
  return new Error(`bulk insert into ${model}: ${c.field} must be ${want}, got ${shown?.slice(0, 80)}`);
}

/** A value as the driver adapter receives it for this column (null for SQL NULL). */
export function toParam(model: ModelInfo, c: ColumnInfo, value: unknown, provider: Provider): unknown {
  if (value === null) {
    if (c.isRequired) {
      throw new Error(`bulk insert into ${model.name}: ${c.field} is required, got null`);
    }
    return null;
  }
  if (c.isEnum) {
    const values = model.enumValues.get(c.type);
    if (typeof value !== "string" || (values && !values.has(value))) throw bad(model.name, c, value, `one of ${[...(values ?? [])].join("|")}`);
    return value;
  }
  switch (c.type) {
    case "String":
      if (typeof value !== "string") throw bad(model.name, c, value, "a string");
      return value;
    case "Int":
      if (typeof value !== "number" || !Number.isInteger(value) || value > 2147483647 || value < -2147483648) throw bad(model.name, c, value, "a 32-bit integer");
      return value;
    case "Float":
      if (typeof value !== "number" || !Number.isFinite(value)) throw bad(model.name, c, value, "a finite number");
      return value;
    case "BigInt":
      if (typeof value === "bigint") return value;
      if ((typeof value === "number" && Number.isInteger(value)) || (typeof value === "string" && /^-?\d+$/.test(value))) return BigInt(value);
      throw bad(model.name, c, value, "a bigint");
    case "Decimal": {
      const s = typeof value === "object" ? String(value) : value;
      if ((typeof s !== "string" && typeof s !== "number") || Number.isNaN(Number(s))) throw bad(model.name, c, value, "a decimal");
      return provider === "sqlite" ? Number(s) : String(s);
    }
    case "Boolean":
      if (typeof value !== "boolean") throw bad(model.name, c, value, "a boolean");
      return value;
    case "DateTime": {
      const d = value instanceof Date ? value : typeof value === "string" ? new Date(value) : undefined;
      if (!d || Number.isNaN(d.getTime())) throw bad(model.name, c, value, "a Date or an ISO date string");
      return d;
    }
    case "Json":
      if (value === JSON_NULL) return "null";
      return JSON.stringify(value);
    case "Bytes":
      if (!(value instanceof Uint8Array)) throw bad(model.name, c, value, "a Buffer or Uint8Array");
      return value;
    default:
      throw new Error(`bulk insert into ${model.name}: unsupported type ${c.type} of ${c.field}`);
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
  const given = new Set<string>();
  for (const row of rows) {
    for (const k of Object.keys(row)) {
      if ((row as Record<string, unknown>)[k] !== undefined) given.add(k);
    }
  }
  for (const k of given) {
    if (!info.byField.has(k)) throw new Error(`bulk insert into ${info.name}: unknown field ${k}`);
  }
  return info.columns.filter((c) => c.default?.kind !== "dbgenerated" || given.has(c.field));
}
