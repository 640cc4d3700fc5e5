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
