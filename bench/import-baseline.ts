// The raw import baseline: the same archive's lines (the reader's gunzip +
// line split, then JSON.parse), and the same rows (same tables, same columns,
// new ids, references remapped, owner = the target user) written through the
// driver in one transaction: on SQLite one prepared INSERT per table, on
// PostgreSQL one prepared INSERT of BATCH rows per table. No validation, no
// planning, no conflict checks, no Prisma: the floor the import is compared
// to. JSON references (gloss items, member lists) are left as they are; column
// references, foreign keys or not, get the new ids.
import { randomUUID } from "node:crypto";
import Sqlite from "better-sqlite3";
import pg from "pg";
import type { Database } from "../src/config.js";
import { pgPoolConfig } from "../src/db/pg-config.js";
import { openArchive } from "../src/engine/archive/reader.js";

/** What the baseline writes for a kind (computed by the parent from the Prisma model: see insertTables in import.ts). */
export interface InsertTable {
  kind: string;
  table: string;
  columns: { field: string; column: string; type: string; isRequired: boolean; isUpdatedAt: boolean; default?: { kind: string; value?: unknown } }[];
  /** fields holding the id of another record of the archive */
  refs: string[];
}

type Row = Record<string, unknown>;

/** rows per INSERT on PostgreSQL, as the import's writer batches them */
const BATCH = 200;

/** How a driver takes a column's value. */
interface Encoding {
  dateTime(iso: string): unknown;
  boolean(v: boolean): unknown;
}

const SQLITE: Encoding = {
  // what Prisma's SQLite adapter stores
  dateTime: (v) => (v.endsWith("Z") ? v.slice(0, -1) + "+00:00" : v),
  boolean: (v) => (v ? 1 : 0),
};
const POSTGRES: Encoding = { dateTime: (v) => v, boolean: (v) => v };

/** Every record of the archive as its table's parameters, in file order. */
async function* archiveRows(archivePath: string, tables: InsertTable[], targetUserId: string, enc: Encoding): AsyncGenerator<{ table: InsertTable; params: unknown[] }> {
  const byKind = new Map(tables.map((t) => [t.kind, t]));
  const ids = new Map<string, string>();
  const newId = (old: string) => {
    let id = ids.get(old);
    if (id === undefined) ids.set(old, (id = randomUUID()));
    return id;
  };
  const now = enc.dateTime(new Date().toISOString());
  let exporter: string | undefined;
  const archive = await openArchive(archivePath);
  for await (const batch of archive.lines()) {
    for (const raw of batch) {
      const line = JSON.parse(raw.text) as { type: string; data?: Row; exporter?: { userId?: string } };
      const t = byKind.get(line.type);
      if (!t) {
        if (line.type === "metadata") {
          const meta = (line.data ?? line) as { exporterUserId?: string; exporter?: { userId?: string } };
          exporter = meta.exporterUserId ?? meta.exporter?.userId;
          if (exporter) ids.set(exporter, targetUserId);
        }
        continue;
      }
      const data = line.data!;
      for (const f of t.refs) {
        const v = data[f];
        if (typeof v === "string" && v !== "") data[f] = newId(v);
      }
      const params = new Array<unknown>(t.columns.length);
      for (let i = 0; i < t.columns.length; i++) {
        const c = t.columns[i];
        let v: unknown = c.field === "ownerId" ? targetUserId : c.field === "id" ? newId(data.id as string) : data[c.field];
        if (v === undefined) {
          const d = c.default;
          if (d?.kind === "uuid") v = randomUUID();
          else if (d?.kind === "now" || c.isUpdatedAt) v = now;
          else if (d?.kind === "literal") v = d.value;
          else v = null;
        }
        if (v !== null)
          switch (c.type) {
            case "DateTime":
              v = enc.dateTime(v as string);
              break;
            case "Boolean":
              v = enc.boolean(Boolean(v));
              break;
            case "Json":
              v = JSON.stringify(v);
              break;
            case "Bytes":
              v = Buffer.from(v as string, "base64");
              break;
            case "BigInt":
              v = BigInt(v as number);
              break;
            case "String":
              if (v === exporter) v = targetUserId; // the exporter's own id (changedById...) is the target user now
              break;
          }
        params[i] = v;
      }
      yield { table: t, params };
    }
  }
}

export async function sqliteInsertBaseline(file: string, archivePath: string, tables: InsertTable[], targetUserId: string): Promise<number> {
  const db = new Sqlite(file);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  const stmts = new Map(
    tables.map((t) => [t, db.prepare(`INSERT INTO "${t.table}" (${t.columns.map((c) => `"${c.column}"`).join(", ")}) VALUES (${t.columns.map(() => "?").join(", ")})`)]),
  );
  let records = 0;
  db.exec("BEGIN");
  try {
    // forward references (a row naming one later in the file) are checked at COMMIT
    db.pragma("defer_foreign_keys = ON");
    for await (const { table, params } of archiveRows(archivePath, tables, targetUserId, SQLITE)) {
      stmts.get(table)!.run(params);
      records++;
    }
    db.exec("COMMIT");
  } catch (err) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw err;
  } finally {
    db.close();
  }
  return records;
}

/**
 * PostgreSQL's foreign keys here cannot be deferred, and the file may name a
 * record before it comes: the baseline writes with the session in replica
 * role, which checks no foreign key at all. A floor, then, a little lower
 * than a fair one.
 */
export async function pgInsertBaseline(database: Extract<Database, { provider: "postgresql" }>, archivePath: string, tables: InsertTable[], targetUserId: string): Promise<number> {
  const client = new pg.Client(pgPoolConfig(database));
  await client.connect();
  const pending = new Map<InsertTable, unknown[][]>(tables.map((t) => [t, []]));
  const sql = (t: InsertTable, count: number) => {
    const n = t.columns.length;
    const values = Array.from({ length: count }, (_, r) => `(${t.columns.map((_c, i) => `$${r * n + i + 1}`).join(", ")})`).join(", ");
    return `INSERT INTO "${t.table}" (${t.columns.map((c) => `"${c.column}"`).join(", ")}) VALUES ${values}`;
  };
  const fullBatch = new Map(tables.map((t) => [t, sql(t, BATCH)]));
  // full batches through one prepared statement per table; the last, shorter one unnamed
  const insert = (t: InsertTable, rows: unknown[][]) =>
    rows.length === BATCH
      ? client.query({ name: `baseline_${t.table}`, text: fullBatch.get(t)!, values: rows.flat() })
      : client.query({ text: sql(t, rows.length), values: rows.flat() });
  let records = 0;
  await client.query("BEGIN");
  try {
    await client.query("SET LOCAL session_replication_role = replica");
    for await (const { table, params } of archiveRows(archivePath, tables, targetUserId, POSTGRES)) {
      const rows = pending.get(table)!;
      rows.push(params);
      records++;
      if (rows.length === BATCH) {
        await insert(table, rows);
        rows.length = 0;
      }
    }
    for (const [t, rows] of pending) if (rows.length) await insert(t, rows);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
  return records;
}
