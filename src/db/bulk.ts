// Fast multi-row INSERTs through Prisma's raw API, for the seed and for imports.
//
// Prisma's `createMany` is slow on SQLite (≈8k rows/s); one multi-row INSERT
// with bound parameters per few hundred rows is an order of magnitude faster.
// `bulkInsert` works with the root client and with an interactive-transaction
// client (`db.$transaction(async (tx) => bulkInsert(tx, ...))`), on both
// providers, and stores every value exactly as Prisma's own `create` does, so
// Prisma reads the rows back identically:
//
// - columns, their types and which of them have defaults come from the Prisma
//   datamodel (Pothos' copy of the DMMF, generated with the client); the default
//   expressions themselves (uuid(), now(), literals) and @map names are read
//   from the same schema file the client was generated from;
// - omitted fields get their @default like Prisma fills them in: uuid() and
//   now() computed here (one `now` per call, as Prisma uses one per query),
//   literals written explicitly, @updatedAt set to now;
// - DateTime values are bound as Date objects, so the driver adapter formats
//   them with the very code it uses for Prisma's queries (better-sqlite3: ISO
//   text with "+00:00"; pg: "YYYY-MM-DD HH:MM:SS.mmm" into timestamp(3));
// - Json is bound as JSON text (jsonb cast on PostgreSQL); `null`/Prisma.DbNull
//   is SQL NULL, Prisma.JsonNull is the JSON value null;
// - enums are bound as text (cast to the enum type on PostgreSQL), Boolean as
//   a boolean (the adapter writes 0/1 on SQLite), BigInt as a bigint, Bytes as
//   a Buffer/Uint8Array.
//
// No transaction is opened here: wrap calls in `$transaction` for atomicity.
// Foreign keys are checked per statement, so a row may reference a row earlier
// in the same call (claim trees), but not a later one.

import { Prisma } from "../generated/sqlite/client.js";
import type { Provider } from "./migrations.js";
import { randomUUID } from "node:crypto";

export type ModelName = Prisma.ModelName;

/** The row shape `createMany` accepts for a model (scalar fields, relation ids), for callers that want it checked. */
export type BulkRow<M extends ModelName> = Exclude<
  Prisma.TypeMap["model"][M]["operations"]["createMany"]["args"]["data"],
  readonly unknown[]
>;

/** The root client or an interactive-transaction client. */
export interface RawClient {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
}

/** Bind-parameter limits: SQLite's SQLITE_MAX_VARIABLE_NUMBER (3.32+), PostgreSQL's wire protocol (Int16). */
export const MAX_BIND_PARAMS: Record<Provider, number> = { sqlite: 32766, postgresql: 65535 };

/** Rows per INSERT statement, unless the parameter limit allows fewer. */
export const DEFAULT_ROWS_PER_STATEMENT = 500;

// ---------------------------------------------------------------- datamodel

// The datamodel reading lives in models.ts (no Prisma runtime there, for readers); re-exported as before.
export { modelInfos, type ColumnInfo, type ModelInfo } from "./models.js";
import { modelInfos, type ColumnInfo, type ModelInfo } from "./models.js";

/** The provider a (transaction) client talks to. */
export function providerOf(db: RawClient): Provider {
  const p = (db as unknown as { _activeProvider?: string })._activeProvider;
  if (p === "sqlite" || p === "postgresql") return p;
  throw new Error(`bulk insert: cannot tell the database provider of this client (${String(p)})`);
}

// ---------------------------------------------------------------- values

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
  if (value === null || value === Prisma.DbNull) {
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
      if (value === Prisma.JsonNull) return "null";
      return JSON.stringify(value);
    case "Bytes":
      if (!(value instanceof Uint8Array)) throw bad(model.name, c, value, "a Buffer or Uint8Array");
      return value;
    default:
      throw new Error(`bulk insert into ${model.name}: unsupported type ${c.type} of ${c.field}`);
  }
}

// ---------------------------------------------------------------- insert

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

export interface BulkInsertOptions {
  /** cap on rows per INSERT statement (the bind-parameter limit may lower it) */
  rowsPerStatement?: number;
  /** the time @default(now()) and @updatedAt fields get; one per call by default */
  now?: Date;
}

/**
 * Inserts rows of one model with multi-row INSERT statements. Returns the
 * number of rows inserted. Rows are plain objects keyed by Prisma field names
 * (scalars and foreign-key ids, as `createMany` takes them).
 */
export async function bulkInsert(
  db: RawClient,
  model: ModelName,
  rows: readonly object[],
  options: BulkInsertOptions = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const provider = providerOf(db);
  const info = modelInfos(provider).get(model);
  if (!info) throw new Error(`bulk insert: unknown model ${model}`);
  const now = options.now ?? new Date();

  const columns = insertColumns(info, rows);

  const perStatement = Math.max(
    1,
    Math.min(options.rowsPerStatement ?? DEFAULT_ROWS_PER_STATEMENT, Math.floor(MAX_BIND_PARAMS[provider] / columns.length)),
  );
  const head = `INSERT INTO ${quote(info.table)} (${columns.map((c) => quote(c.column)).join(", ")}) VALUES `;
  const casts = columns.map((c) => (provider === "postgresql" ? pgCast(c) : ""));

  let inserted = 0;
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const params: unknown[] = new Array(chunk.length * columns.length);
    const tuples: string[] = new Array(chunk.length);
    let p = 0;
    for (let r = 0; r < chunk.length; r++) {
      const row = chunk[r] as Record<string, unknown>;
      const marks: string[] = new Array(columns.length);
      for (let i = 0; i < columns.length; i++) {
        params[p++] = toParam(info, columns[i], valueOrDefault(info, columns[i], row, now), provider);
        marks[i] = provider === "postgresql" ? `$${p}${casts[i]}` : "?";
      }
      tuples[r] = `(${marks.join(", ")})`;
    }
    inserted += await db.$executeRawUnsafe(head + tuples.join(", "), ...params);
  }
  return inserted;
}

// ---------------------------------------------------------------- writer

export interface BulkWriterOptions extends BulkInsertOptions {
  /** rows buffered per model before they are written */
  batchSize?: number;
  /** called after each write with the model and the number of rows written */
  onFlush?: (model: ModelName, rows: number) => void;
}

/**
 * Buffers rows per model and writes them in batches with `bulkInsert`. Before
 * a model's batch is written, the buffers of the models it references are
 * flushed, so foreign keys resolve when rows are added parents-first.
 */
export class BulkWriter {
  private readonly buffers = new Map<ModelName, object[]>();
  private readonly infos: Map<string, ModelInfo>;
  private readonly batchSize: number;
  readonly counts: Partial<Record<ModelName, number>> = {};

  constructor(
    private readonly db: RawClient,
    private readonly options: BulkWriterOptions = {},
  ) {
    this.infos = modelInfos(providerOf(db));
    this.batchSize = options.batchSize ?? 2000;
  }

  /** Queues a row; writes the model's batch (and its parents' first) once it is full. */
  async add(model: ModelName, row: object): Promise<void> {
    let buf = this.buffers.get(model);
    if (!buf) this.buffers.set(model, (buf = []));
    buf.push(row);
    if (buf.length >= this.batchSize) await this.flushModel(model, new Set());
  }

  /** Rows buffered and not written yet. */
  get pending(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.length;
    return n;
  }

  /** Writes everything buffered. */
  async flush(): Promise<void> {
    const seen = new Set<ModelName>();
    for (const model of [...this.buffers.keys()]) await this.flushModel(model, seen);
  }

  private async flushModel(model: ModelName, seen: Set<ModelName>): Promise<void> {
    if (seen.has(model)) return;
    seen.add(model);
    for (const parent of this.infos.get(model)?.parents ?? []) await this.flushModel(parent, seen);
    const rows = this.buffers.get(model);
    if (!rows?.length) return;
    this.buffers.set(model, []);
    const n = await bulkInsert(this.db, model, rows, this.options);
    this.counts[model] = (this.counts[model] ?? 0) + n;
    this.options.onFlush?.(model, n);
  }
}
