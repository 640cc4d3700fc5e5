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
import { columnEncoder, insertColumns, JSON_NULL, MAX_BIND_PARAMS, pgCast, quote, valueOrDefault } from "./values.js";

/** Prisma's null sentinels as the encoders know them. */
const withoutSentinels = (value: unknown): unknown => (value === Prisma.DbNull ? null : value === Prisma.JsonNull ? JSON_NULL : value);

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

// ---------------------------------------------------------------- insert

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
  const encoders = columns.map((c) => columnEncoder(info, c, provider, "adapter"));

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
        params[p++] = encoders[i](withoutSentinels(valueOrDefault(info, columns[i], row, now)));
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
