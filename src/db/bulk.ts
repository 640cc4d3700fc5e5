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
import { getDatamodel } from "../generated/pothos-types.js";
import { readSchema, type Provider } from "./migrations.js";
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

type DefaultSpec =
  | { kind: "uuid" }
  | { kind: "now" }
  | { kind: "literal"; value: string | number | boolean }
  | { kind: "dbgenerated" };

export interface ColumnInfo {
  field: string;
  column: string;
  /** Prisma scalar type (String, Int, DateTime, Json...) or the enum's name */
  type: string;
  isEnum: boolean;
  /** the enum's database type name (@@map), for PostgreSQL casts */
  enumDbName?: string;
  isRequired: boolean;
  isUpdatedAt: boolean;
  default?: DefaultSpec;
}

export interface ModelInfo {
  name: ModelName;
  table: string;
  columns: ColumnInfo[];
  byField: Map<string, ColumnInfo>;
  /** models this one references through a foreign key (itself excluded) */
  parents: ModelName[];
  enumValues: Map<string, Set<string>>;
}

interface SchemaFacts {
  tables: Map<string, string>;
  columns: Map<string, Map<string, { column: string; default?: DefaultSpec; native?: string }>>;
  enums: Map<string, { dbName: string; values: Set<string> }>;
}

function parseDefault(expr: string, where: string): DefaultSpec {
  const e = expr.trim();
  if (/^uuid\(\s*(4)?\s*\)$/.test(e)) return { kind: "uuid" };
  if (e === "now()") return { kind: "now" };
  if (/^(autoincrement|dbgenerated|sequence)\(/.test(e)) return { kind: "dbgenerated" };
  if (/^"(?:[^"\\]|\\.)*"$/.test(e)) return { kind: "literal", value: JSON.parse(e) as string };
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(e)) return { kind: "literal", value: Number(e) };
  if (e === "true" || e === "false") return { kind: "literal", value: e === "true" };
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(e)) return { kind: "literal", value: e }; // enum value
  throw new Error(`bulk insert: unsupported @default(${e}) on ${where}`);
}

/** The text inside the parentheses that follow `attr(`, balanced. */
function attributeArgs(line: string, attr: string): string | undefined {
  const at = line.indexOf(attr + "(");
  if (at < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = at + attr.length; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return line.slice(at + attr.length + 1, i);
  }
  throw new Error(`bulk insert: unbalanced ${attr}( in: ${line}`);
}

function parseSchema(text: string): SchemaFacts {
  const facts: SchemaFacts = { tables: new Map(), columns: new Map(), enums: new Map() };
  const lines = text.split("\n").map((l) => l.replace(/\/\/.*$/, "").trim());
  let block: { kind: "model" | "enum"; name: string } | null = null;
  for (const line of lines) {
    if (!block) {
      const m = /^(model|enum)\s+(\w+)\s*\{$/.exec(line);
      if (m) {
        block = { kind: m[1] as "model" | "enum", name: m[2] };
        if (m[1] === "model") {
          facts.tables.set(m[2], m[2]);
          facts.columns.set(m[2], new Map());
        } else facts.enums.set(m[2], { dbName: m[2], values: new Set() });
      }
      continue;
    }
    if (line === "}") {
      block = null;
      continue;
    }
    if (!line) continue;
    const map = attributeArgs(line, line.startsWith("@@") ? "@@map" : "@map");
    const mapped = map ? (JSON.parse(map.replace(/^name:\s*/, "")) as string) : undefined;
    if (block.kind === "enum") {
      const e = facts.enums.get(block.name)!;
      if (line.startsWith("@@")) {
        if (mapped) e.dbName = mapped;
      } else e.values.add(/^(\w+)/.exec(line)![1]);
      continue;
    }
    if (line.startsWith("@@")) {
      if (mapped) facts.tables.set(block.name, mapped);
      continue;
    }
    const f = /^(\w+)\s+\S+/.exec(line);
    if (!f) continue;
    const def = attributeArgs(line, "@default");
    const native = /@db\.(\w+(\([^)]*\))?)/.exec(line)?.[1];
    facts.columns.get(block.name)!.set(f[1], {
      column: mapped ?? f[1],
      default: def === undefined ? undefined : parseDefault(def, `${block.name}.${f[1]}`),
      native,
    });
  }
  return facts;
}

const modelCache = new Map<Provider, Map<string, ModelInfo>>();

/** Column layout of every model, from the generated datamodel plus the schema's default expressions. */
export function modelInfos(provider: Provider): Map<string, ModelInfo> {
  const cached = modelCache.get(provider);
  if (cached) return cached;
  const facts = parseSchema(readSchema(provider).content);
  const dm = getDatamodel().datamodel.models;
  const enumValues = new Map([...facts.enums].map(([k, v]) => [k, v.values]));
  const out = new Map<string, ModelInfo>();
  for (const [name, model] of Object.entries(dm)) {
    const schemaCols = facts.columns.get(name);
    if (!schemaCols) throw new Error(`bulk insert: model ${name} is in the generated datamodel but not in the schema file`);
    const columns: ColumnInfo[] = [];
    const parents = new Set<ModelName>();
    for (const f of model.fields) {
      if (f.kind === "object") {
        if (f.relationFromFields?.length && f.type !== name) parents.add(f.type as ModelName);
        continue;
      }
      if (f.isList) throw new Error(`bulk insert: list field ${name}.${f.name} is not supported`);
      const s = schemaCols.get(f.name);
      if (!s) throw new Error(`bulk insert: field ${name}.${f.name} is not in the schema file`);
      if (f.hasDefaultValue !== (s.default !== undefined)) {
        throw new Error(`bulk insert: the schema file and the generated client disagree about the default of ${name}.${f.name}; regenerate the client`);
      }
      if (s.native && provider === "postgresql") throw new Error(`bulk insert: native type @db.${s.native} on ${name}.${f.name} is not supported`);
      columns.push({
        field: f.name,
        column: s.column,
        type: f.type,
        isEnum: f.kind === "enum",
        enumDbName: f.kind === "enum" ? (facts.enums.get(f.type)?.dbName ?? f.type) : undefined,
        isRequired: f.isRequired,
        isUpdatedAt: f.isUpdatedAt ?? false,
        default: s.default,
      });
    }
    out.set(name, {
      name: name as ModelName,
      table: facts.tables.get(name) ?? name,
      columns,
      byField: new Map(columns.map((c) => [c.field, c])),
      parents: [...parents],
      enumValues,
    });
  }
  modelCache.set(provider, out);
  return out;
}

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
