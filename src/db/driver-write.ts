// Batched inserts and updates on a driver transaction (driver-tx.ts), storing
// every value exactly as Prisma's own writes do (bulk.ts checks and fills them
// the same way for both paths); only the last step differs: values in the
// forms the drivers bind instead of those Prisma's adapters take (values.ts's
// "driver" form), every value cast to its column's type on PostgreSQL as
// bulk.ts does.
import type { Provider } from "./migrations.js";
import type { ModelName } from "./bulk.js";
import { modelInfos, type ColumnInfo, type ModelInfo } from "./models.js";
import { columnEncoder, insertColumns, MAX_BIND_PARAMS, pgCast, quote, valueOrDefault } from "./values.js";
import type { DriverTx } from "./driver-tx.js";

const ROWS_PER_STATEMENT = 200;
/** replacements a statement makes in a row's column (SQLite allows expressions 1,000 deep) */
const PAIRS_PER_STATEMENT = 16;

/** A row's texts to replace: each `from` with its `to`. */
export interface TextReplacement {
  id: string;
  pairs: readonly (readonly [from: string, to: string])[];
}

/**
 * Buffers rows per model and inserts them a batch at a time; before a model's
 * batch goes, the batches of the models it references go first, so foreign
 * keys resolve when rows are added parents-first.
 */
export class DriverWriter {
  private readonly infos: Map<string, ModelInfo>;
  private readonly buffers = new Map<ModelName, object[]>();
  private readonly provider: Provider;
  /** one `now` per import, as one Prisma query has one */
  private readonly now = new Date();

  constructor(
    private readonly tx: DriverTx,
    private readonly batchSize = 1000,
  ) {
    this.provider = tx.provider;
    this.infos = modelInfos(tx.provider);
  }

  /** Buffers a row; a promise only when its batch is written now (a million rows do not each wait a turn). */
  add(model: ModelName, row: object): Promise<void> | void {
    let rows = this.buffers.get(model);
    if (!rows) this.buffers.set(model, (rows = []));
    rows.push(row);
    if (rows.length >= this.batchSize) return this.flushModel(model, new Set());
  }

  async flush(): Promise<void> {
    const seen = new Set<ModelName>();
    for (const model of [...this.buffers.keys()]) await this.flushModel(model, seen);
  }

  /**
   * Replaces the given fields of the row with this id (everything buffered is
   * written first). A missing @updatedAt field gets now, as Prisma's update does.
   */
  async update(model: ModelName, id: string, data: Record<string, unknown>): Promise<void> {
    await this.flush();
    const info = this.info(model);
    const sets: string[] = [];
    const params: unknown[] = [];
    const mark = (c: ColumnInfo) => (this.provider === "postgresql" ? `$${params.length}${pgCast(c)}` : "?");
    for (const c of info.columns) {
      let v = data[c.field];
      if (c.field === "id") continue;
      if (v === undefined) {
        if (!c.isUpdatedAt) continue;
        v = this.now;
      }
      params.push(columnEncoder(info, c, this.provider, "driver")(v));
      sets.push(`${quote(c.column)} = ${mark(c)}`);
    }
    for (const k of Object.keys(data)) if (!info.byField.has(k)) throw new Error(`update of ${model}: unknown field ${k}`);
    if (!sets.length) return;
    params.push(id);
    const idColumn = info.byField.get("id")!;
    await this.tx.queue(`UPDATE ${quote(info.table)} SET ${sets.join(", ")} WHERE ${quote(idColumn.column)} = ${mark(idColumn)}`, params);
  }

  /**
   * In each listed row (by id), every `from` text in the given String and
   * Json columns becomes its `to`, wherever it stands (everything buffered is
   * written first). The pairs of a row are applied one after another: no `to`
   * may hold a `from` of its row. One statement per batch of rows.
   */
  async replaceTexts(model: ModelName, fields: readonly string[], rows: readonly TextReplacement[]): Promise<void> {
    if (!fields.length || !rows.length) return;
    await this.flush();
    const info = this.info(model);
    const columns = fields.map((f) => {
      const c = info.byField.get(f);
      if (!c || (c.type !== "String" && c.type !== "Json")) throw new Error(`replace in ${model}: ${f} is no text or JSON column`);
      return c;
    });
    // rounds of at most PAIRS_PER_STATEMENT pairs a row: nested replace() calls stay shallow
    const rounds = new Map<number, { id: string; pairs: readonly (readonly [string, string])[] }[]>();
    for (const r of rows)
      for (let i = 0; i < r.pairs.length; i += PAIRS_PER_STATEMENT) {
        const pairs = r.pairs.slice(i, i + PAIRS_PER_STATEMENT);
        (rounds.get(pairs.length) ?? rounds.set(pairs.length, []).get(pairs.length)!).push({ id: r.id, pairs });
      }
    for (const [k, group] of rounds) {
      const per = Math.max(1, Math.min(ROWS_PER_STATEMENT, Math.floor(MAX_BIND_PARAMS[this.provider] / (1 + 2 * k))));
      for (let start = 0; start < group.length; start += per) {
        const chunk = group.slice(start, start + per);
        const params: unknown[] = [];
        for (const r of chunk) params.push(r.id, ...r.pairs.flat());
        await this.tx.queue(this.replaceSql(info, columns, k, chunk.length), params);
      }
    }
  }

  private replaceSql(info: ModelInfo, columns: ColumnInfo[], pairs: number, rows: number): string {
    const pg = this.provider === "postgresql";
    const names = ["stowage_id"];
    for (let i = 0; i < pairs; i++) names.push(`stowage_from_${i}`, `stowage_to_${i}`);
    let p = 0;
    // PostgreSQL cannot tell a VALUES parameter's type from its use: text, said once
    const tuples = Array.from({ length: rows }, () => `(${names.map(() => (pg ? `$${++p}::text` : "?")).join(", ")})`);
    const sets = columns.map((c) => {
      const json = pg && c.type === "Json";
      let e = json ? `${quote(c.column)}::text` : quote(c.column);
      for (let i = 0; i < pairs; i++) e = `replace(${e}, v.stowage_from_${i}, v.stowage_to_${i})`;
      return `${quote(c.column)} = ${json ? `(${e})${pgCast(c)}` : e}`;
    });
    const table = quote(info.table);
    const id = quote(info.byField.get("id")!.column);
    return `WITH v(${names.join(", ")}) AS (VALUES ${tuples.join(", ")}) UPDATE ${table} SET ${sets.join(", ")} FROM v WHERE ${table}.${id} = v.stowage_id`;
  }

  private info(model: ModelName): ModelInfo {
    const info = this.infos.get(model);
    if (!info) throw new Error(`driver write: unknown model ${model}`);
    return info;
  }

  private async flushModel(model: ModelName, seen: Set<ModelName>): Promise<void> {
    if (seen.has(model)) return;
    seen.add(model);
    const info = this.info(model);
    for (const parent of info.parents) await this.flushModel(parent, seen);
    const rows = this.buffers.get(model);
    if (!rows?.length) return;
    this.buffers.set(model, []);
    await this.insert(info, rows);
  }

  /** INSERT texts by table, columns and row count: a full batch's is made once */
  private statements = new Map<string, string>();

  private insertSql(info: ModelInfo, columns: ColumnInfo[], rows: number): string {
    const names = columns.map((c) => quote(c.column)).join(", ");
    const cacheKey = `${info.table}\u0000${names}\u0000${rows}`;
    let sql = this.statements.get(cacheKey);
    if (sql) return sql;
    const tuples: string[] = new Array(rows);
    let p = 0;
    for (let r = 0; r < rows; r++) tuples[r] = `(${columns.map((c) => (this.provider === "postgresql" ? `$${++p}${pgCast(c)}` : "?")).join(", ")})`;
    sql = `INSERT INTO ${quote(info.table)} (${names}) VALUES ${tuples.join(", ")}`;
    this.statements.set(cacheKey, sql);
    return sql;
  }

  private async insert(info: ModelInfo, rows: object[]): Promise<void> {
    const columns = insertColumns(info, rows);
    const per = Math.max(1, Math.min(ROWS_PER_STATEMENT, Math.floor(MAX_BIND_PARAMS[this.provider] / columns.length)));
    const encoders = columns.map((c) => columnEncoder(info, c, this.provider, "driver"));
    for (let start = 0; start < rows.length; start += per) {
      const n = Math.min(per, rows.length - start);
      const params: unknown[] = new Array(n * columns.length);
      let p = 0;
      for (let r = 0; r < n; r++) {
        const row = rows[start + r] as Record<string, unknown>;
        for (let i = 0; i < columns.length; i++) {
          const v = row[columns[i].field];
          params[p++] = encoders[i](v !== undefined ? v : valueOrDefault(info, columns[i], row, this.now));
        }
      }
      await this.tx.queue(this.insertSql(info, columns, n), params);
    }
  }
}
