// The export's reads in SQL, generically: a selection's Prisma-shaped `where`
// compiled to SQL against the tables and columns the Prisma datamodel names,
// and rows decoded into archive line data by column type. No kind has SQL of
// its own, and a column added to a model is read and written with no edit here.
//
// Values come out exactly as Prisma's read + `toLineData` made them: DateTime
// as ISO-8601 UTC (Prisma's own normalization of what the adapter stored),
// Json parsed, Bytes as base64, SQLite's 0/1 as booleans, BigInt as a number.
import { getDatamodel } from "../generated/pothos-types.js";
import { modelInfos, type ColumnInfo, type ModelInfo } from "../db/models.js";
import type { RawReader } from "../db/raw.js";
import type { Provider } from "../db/migrations.js";
import { lineColumns, toLineData, type ExportFilter, type KindDef, type Row } from "./kinds/index.js";
import type { Where } from "./selection.js";

// ---------------------------------------------------------------- relations

interface Relation {
  /** the model on the other side */
  target: string;
  /** true: this model holds the foreign key (to-one); false: the other side does (list) */
  owning: boolean;
  /** foreign key fields, on whichever side holds them; they reference `id` */
  fields: string[];
  isList: boolean;
}

let relations: Map<string, Map<string, Relation>> | undefined;

function relationOf(model: string, field: string): Relation | undefined {
  if (!relations) {
    const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: { name: string; kind: string; type: string; isList: boolean; relationName?: string; relationFromFields?: string[] }[] }>;
    relations = new Map();
    for (const [name, m] of Object.entries(models)) {
      const rels = new Map<string, Relation>();
      for (const f of m.fields) {
        if (f.kind !== "object") continue;
        if (f.relationFromFields?.length) {
          rels.set(f.name, { target: f.type, owning: true, fields: f.relationFromFields, isList: false });
          continue;
        }
        // the back side: the foreign key lives on the other model's field of the same relation
        const other = models[f.type].fields.find((o) => o.relationName === f.relationName && o.relationFromFields?.length && (f.type !== name || o.name !== f.name));
        if (!other) throw new Error(`no owning side for relation ${name}.${f.name}`);
        rels.set(f.name, { target: f.type, owning: false, fields: other.relationFromFields!, isList: f.isList });
      }
      relations.set(name, rels);
    }
  }
  return relations.get(model)?.get(field);
}

// ---------------------------------------------------------------- SQL text

export const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

class Sql {
  readonly params: unknown[] = [];
  private aliases = 0;
  /** conditions on this alias's columns, other than on `except`, use no index (SQLite) */
  unindexed?: { alias: string; except: string };
  constructor(
    readonly provider: Provider,
    readonly schema: string | undefined,
  ) {}

  info(model: string): ModelInfo {
    const info = modelInfos(this.provider).get(model);
    if (!info) throw new Error(`no model ${model}`);
    return info;
  }

  table(model: string): string {
    const t = quote(this.info(model).table);
    return this.schema ? `${quote(this.schema)}.${t}` : t;
  }

  column(model: string, alias: string, field: string): string {
    const c = this.info(model).byField.get(field);
    if (!c) throw new Error(`no field ${model}.${field}`);
    return `${alias}.${quote(c.column)}`;
  }

  alias(): string {
    return `t${this.aliases++}`;
  }

  /** A bound parameter, in the form Prisma's adapter binds it (dates as the text stored, booleans as 0/1 on SQLite). */
  param(v: unknown): string {
    let value = v;
    if (v instanceof Date) value = this.provider === "sqlite" ? v.toISOString().replace("Z", "+00:00") : pgTimestamp(v);
    else if (typeof v === "boolean" && this.provider === "sqlite") value = v ? 1 : 0;
    this.params.push(value);
    return this.provider === "sqlite" ? "?" : `$${this.params.length}`;
  }

  /** A Prisma `where` (the subset selections use) as a SQL condition on `alias`. */
  where(model: string, alias: string, where: Where): string {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(where)) {
      if (value === undefined) continue;
      if (key === "AND" || key === "OR") {
        const list = (Array.isArray(value) ? value : [value]) as Where[];
        if (!list.length) {
          parts.push(key === "AND" ? "1=1" : "1=0");
          continue;
        }
        parts.push(`(${list.map((w) => `(${this.where(model, alias, w)})`).join(key === "AND" ? " AND " : " OR ")})`);
        continue;
      }
      const rel = relationOf(model, key);
      if (rel) {
        parts.push(this.relation(model, alias, rel, value as Where | null));
        continue;
      }
      const off = this.provider === "sqlite" && this.unindexed?.alias === alias && this.unindexed.except !== key;
      parts.push(this.scalar((off ? "+" : "") + this.column(model, alias, key), value));
    }
    return parts.length ? parts.join(" AND ") : "1=1";
  }

  private scalar(col: string, value: unknown): string {
    if (value === null) return `${col} IS NULL`;
    if (typeof value !== "object" || value instanceof Date) return `${col} = ${this.param(value)}`;
    const ops: string[] = [];
    for (const [op, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      switch (op) {
        case "equals":
          ops.push(v === null ? `${col} IS NULL` : `${col} = ${this.param(v)}`);
          break;
        case "not":
          ops.push(v === null ? `${col} IS NOT NULL` : `${col} <> ${this.param(v)}`);
          break;
        case "in":
        case "notIn": {
          const list = v as unknown[];
          if (!list.length) ops.push(op === "in" ? "1=0" : "1=1");
          else ops.push(`${col} ${op === "in" ? "IN" : "NOT IN"} (${list.map((x) => this.param(x)).join(", ")})`);
          break;
        }
        case "gt":
        case "gte":
        case "lt":
        case "lte":
          ops.push(`${col} ${{ gt: ">", gte: ">=", lt: "<", lte: "<=" }[op]} ${this.param(v)}`);
          break;
        default:
          throw new Error(`unsupported filter ${op} in an export selection`);
      }
    }
    return ops.length ? ops.join(" AND ") : "1=1";
  }

  private relation(model: string, alias: string, rel: Relation, value: Where | null): string {
    const inner = this.alias();
    if (rel.owning) {
      if (value === null) return rel.fields.map((f) => `${this.column(model, alias, f)} IS NULL`).join(" AND ");
      const w = "is" in value ? (value.is as Where) : value;
      const join = rel.fields.map((f) => `${this.column(rel.target, inner, "id")} = ${this.column(model, alias, f)}`).join(" AND ");
      return `EXISTS (SELECT 1 FROM ${this.table(rel.target)} ${inner} WHERE ${join} AND ${this.where(rel.target, inner, w)})`;
    }
    const some = (value as { some?: Where }).some;
    if (!rel.isList || !some || Object.keys(value as object).length !== 1) throw new Error(`unsupported relation filter on ${model}: only { some } on lists and nested wheres on to-one relations`);
    const join = rel.fields.map((f) => `${this.column(rel.target, inner, f)} = ${this.column(model, alias, "id")}`).join(" AND ");
    return `EXISTS (SELECT 1 FROM ${this.table(rel.target)} ${inner} WHERE ${join} AND ${this.where(rel.target, inner, some)})`;
  }
}

/** Prisma's PostgreSQL adapter binds DateTime as UTC wall time (timestamp(3) has no zone). */
function pgTimestamp(d: Date): string {
  return d.toISOString().replace("T", " ").replace("Z", "");
}

// ---------------------------------------------------------------- decoding

type Decode = (v: unknown) => unknown;

const ISO_STORED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/;
const TIME_AT_END = /\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/** Prisma's normalization of a stored DateTime text before `new Date` (client runtime). */
function prismaDateText(e: string): string {
  const t = TIME_AT_END.exec(e);
  if (t === null) return `${e}T00:00:00Z`;
  let r = e;
  const [whole, zone, minutes] = t;
  if (zone !== undefined && zone !== "Z" && minutes === undefined) r = `${e}:00`;
  else if (zone === undefined) r = `${e}Z`;
  if (whole.length === e.length) return `1970-01-01T${r}`;
  const s = t.index - 1;
  return r[s] === " " ? `${r.slice(0, s)}T${r.slice(s + 1)}` : r;
}

function sqliteDate(v: unknown): string {
  if (typeof v === "string") {
    // what Prisma's adapter writes: the fast path for nearly every row
    if (ISO_STORED.test(v)) return `${v.slice(0, 23)}Z`;
    return new Date(prismaDateText(v)).toISOString();
  }
  return new Date(Number(v)).toISOString();
}

const PG_TS = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;

function pgDate(v: unknown): string {
  const s = String(v);
  if (PG_TS.test(s)) return `${s.slice(0, 10)}T${s.slice(11)}Z`;
  // what Prisma's pg adapter does with timestamp / timestamptz text before the client's normalization
  const zoned = /[+-]\d{2}(:\d{2})?$/.test(s) && s.length > 19 ? s.replace(" ", "T").replace(/[+-]\d{2}(:\d{2})?$/, "+00:00") : `${s.replace(" ", "T")}+00:00`;
  return new Date(prismaDateText(zoned)).toISOString();
}

const base64 = (v: unknown) => Buffer.from(v as Uint8Array).toString("base64");

function decoder(c: ColumnInfo, provider: Provider): Decode | null {
  if (c.isEnum) return null;
  switch (c.type) {
    case "DateTime":
      return provider === "sqlite" ? sqliteDate : pgDate;
    case "Json":
      return provider === "sqlite" ? (v) => JSON.parse(v as string) : null;
    case "Bytes":
      return base64;
    case "Boolean":
      return provider === "sqlite" ? (v) => v === 1 || v === 1n || v === true : null;
    case "Int":
      return provider === "sqlite" ? (v) => (typeof v === "number" && !Number.isInteger(v) ? Math.trunc(v) : Number(v)) : null;
    case "BigInt":
      return (v) => Number(v);
    case "Float":
      return provider === "sqlite" ? null : (v) => (typeof v === "string" ? Number(v) : v);
    case "Decimal":
      return (v) => String(v);
    default:
      return null;
  }
}

/** The columns a kind's archive line carries, as one SELECT list and a row → line data decoder. */
export interface LineReader {
  columns: string;
  decode(row: unknown[]): Row;
}

type LineFilter = Pick<ExportFilter, "includeVectors" | "includeInterpolated">;

/** A decoded line value back to what Prisma's read gives (Date, Buffer), for toLineData. */
function asPrismaValue(c: ColumnInfo, v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (c.type === "DateTime") return new Date(v as string);
  if (c.type === "Bytes") return Buffer.from(v as string, "base64");
  return v;
}

const lineReaders = new Map<string, LineReader>();

/**
 * Decodes straight into line data, the way `toLineData` writes a Prisma row,
 * without a Date per timestamp. A kind with an exact column (kinds/exact.ts)
 * has it out of the line while it is null (nearly always); a row where it
 * holds something goes through `toLineData` itself, which knows what to make
 * of it. (The test "driver reads equal Prisma's" holds the two together.)
 */
export function lineReader(kind: KindDef, provider: Provider, alias: string, filter: LineFilter): LineReader {
  const withVectors = filter.includeVectors === true;
  const key = `${kind.kind}/${provider}/${alias}/${withVectors}/${filter.includeInterpolated === true}`;
  const cached = lineReaders.get(key);
  if (cached) return cached;
  // the provider's own column names (@map) for the fields the line carries
  const info = modelInfos(provider).get(kind.model)!;
  const cols = lineColumns(kind).filter((c) => withVectors || c.field !== kind.vectorField);
  const fields = cols.map((c) => c.field);
  const decoders = cols.map((c) => decoder(info.byField.get(c.field) ?? c, provider));
  // a vector column that is null is left out of the line, as toLineData does
  const dropNull = cols.map((c) => c.field === kind.vectorField);
  const exactField = kind.exactField;
  const exactAt = exactField ? fields.indexOf(exactField) : -1;
  const transform = kind.exportTransform;
  const n = cols.length;
  const decodeAll = (row: unknown[]): Row => {
    const out: Row = {};
    for (let i = 0; i < n; i++) {
      const v = row[i];
      if (v === null || v === undefined) {
        if (!dropNull[i]) out[fields[i]] = null;
      } else {
        const d = decoders[i];
        out[fields[i]] = d === null ? v : d(v);
      }
    }
    return out;
  };
  const reader: LineReader = {
    columns: cols.map((c) => `${alias}.${quote(info.byField.get(c.field)?.column ?? c.column)}`).join(", "),
    decode(row) {
      if (exactAt >= 0 && row[exactAt] !== null && row[exactAt] !== undefined) {
        const decoded = decodeAll(row);
        const prismaRow: Row = {};
        for (let i = 0; i < n; i++) if (fields[i] in decoded) prismaRow[fields[i]] = asPrismaValue(cols[i], decoded[fields[i]]);
        return toLineData(kind, prismaRow, filter);
      }
      const out = decodeAll(row);
      if (exactAt >= 0) delete out[exactField!];
      return transform ? transform(out, filter) : out;
    },
  };
  lineReaders.set(key, reader);
  return reader;
}

// ---------------------------------------------------------------- queries

export interface PageOptions {
  /** keyset: ids greater than this */
  after?: string;
  limit?: number;
  /**
   * Rows of a batch of parents, by this indexed foreign key, unordered. SQLite
   * has no statistics to prefer that index over (ownerId, id), and walking the
   * owner's whole index for every batch makes an export quadratic; the other
   * conditions are kept off their indexes (unary +, SQLite's own idiom).
   */
  via?: string;
}

/** Reads a kind's rows (as line data, before exportTransform) and ids through a driver-level reader. */
export class SqlSource {
  constructor(readonly reader: RawReader) {}

  private sql() {
    return new Sql(this.reader.provider, this.reader.schema);
  }

  private scoped(sql: Sql, kind: KindDef, alias: string, where: Where, page: PageOptions, orderById: boolean): string {
    const conds = [sql.where(kind.model, alias, where)];
    if (page.after !== undefined) conds.push(`${sql.column(kind.model, alias, "id")} > ${sql.param(page.after)}`);
    return (
      ` FROM ${sql.table(kind.model)} ${alias} WHERE ${conds.join(" AND ")}` +
      (orderById ? ` ORDER BY ${sql.column(kind.model, alias, "id")}` : "") +
      (page.limit !== undefined ? ` LIMIT ${sql.param(page.limit)}` : "")
    );
  }

  /** Archive line data (the kind's exportTransform applied) of the rows matching `where`, in id order. */
  async lines(kind: KindDef, where: Where, filter: LineFilter, page: PageOptions = {}): Promise<Row[]> {
    const sql = this.sql();
    const alias = sql.alias();
    const lr = lineReader(kind, this.reader.provider, alias, filter);
    if (page.via) sql.unindexed = { alias, except: page.via };
    const text = `SELECT ${lr.columns}${this.scoped(sql, kind, alias, where, page, !page.via)}`;
    const rows = await this.reader.rows(text, sql.params);
    const out = new Array<Row>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = lr.decode(rows[i]);
    return out;
  }

  /** Ids of the kind's rows matching `where`, in id order. */
  async ids(kind: KindDef, where: Where, page: PageOptions = {}): Promise<string[]> {
    const sql = this.sql();
    const alias = sql.alias();
    const text = `SELECT ${sql.column(kind.model, alias, "id")}${this.scoped(sql, kind, alias, where, page, true)}`;
    return (await this.reader.rows(text, sql.params)).map((r) => r[0] as string);
  }

  async count(kind: KindDef, where: Where): Promise<number> {
    const sql = this.sql();
    const alias = sql.alias();
    const rows = await this.reader.rows(`SELECT count(*)${this.scoped(sql, kind, alias, where, {}, false)}`, sql.params);
    return Number(rows[0][0]);
  }

  /** One row's chosen fields (by Prisma field name), or null. */
  async findById(model: string, id: string, fields: string[]): Promise<Row | null> {
    const sql = this.sql();
    const alias = sql.alias();
    const text = `SELECT ${fields.map((f) => sql.column(model, alias, f)).join(", ")} FROM ${sql.table(model)} ${alias} WHERE ${sql.column(model, alias, "id")} = ${sql.param(id)}`;
    const [row] = await this.reader.rows(text, sql.params);
    return row ? Object.fromEntries(fields.map((f, i) => [f, row[i]])) : null;
  }
}
