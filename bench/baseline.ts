// The raw baseline: the same rows (the columns an archive line carries, the
// same owner, id order) straight from the driver, one JSON.stringify per row
// into lines, batched into the export's chunk size, gzip level 1, /dev/null.
// No Prisma, no ZIP, no selection logic: the floor the export is compared to.
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { createGzip } from "node:zlib";
import Sqlite from "better-sqlite3";
import pg from "pg";
import type { PoolConfig } from "pg";
import { CHUNK_BYTES } from "../src/engine/archive/format.js";
import type { NullSink } from "./sink.js";

export const PG_FETCH = 5000;

export interface BaselineResult {
  records: number;
  jsonBytes: number;
  perKind: Record<string, number>;
}

/** A kind's table and its quoted column list (computed by the parent: see scanTables in export.ts). */
export interface ScanTable {
  kind: string;
  table: string;
  columns: string;
}

class Lines {
  buf = "";
  records = 0;
  jsonBytes = 0;
  perKind: Record<string, number> = {};
  readonly gz = createGzip({ level: 1 });

  constructor(sink: NullSink) {
    this.gz.pipe(sink);
  }

  /** true when the chunk should be flushed */
  add(kind: string, row: unknown): boolean {
    this.buf += JSON.stringify({ type: kind, data: row }) + "\n";
    this.records++;
    this.perKind[kind] = (this.perKind[kind] ?? 0) + 1;
    return this.buf.length >= CHUNK_BYTES;
  }

  async flush(): Promise<void> {
    if (!this.buf) return;
    const b = Buffer.from(this.buf);
    this.jsonBytes += b.length;
    this.buf = "";
    if (!this.gz.write(b)) await once(this.gz, "drain");
  }

  async end(sink: NullSink): Promise<BaselineResult> {
    await this.flush();
    this.gz.end();
    await finished(sink);
    return { records: this.records, jsonBytes: this.jsonBytes, perKind: this.perKind };
  }
}

export async function sqliteBaseline(file: string, tables: ScanTable[], ownerId: string, sink: NullSink): Promise<BaselineResult> {
  const db = new Sqlite(file, { readonly: true });
  const out = new Lines(sink);
  try {
    db.exec("BEGIN"); // one snapshot, like the export's read transaction
    for (const t of tables) {
      const stmt = db.prepare(`SELECT ${t.columns} FROM "${t.table}" WHERE "ownerId" = ? ORDER BY "id"`);
      for (const row of stmt.iterate(ownerId)) if (out.add(t.kind, row)) await out.flush();
    }
    db.exec("COMMIT");
    return await out.end(sink);
  } finally {
    db.close();
  }
}

export async function postgresBaseline(pool: PoolConfig, tables: ScanTable[], ownerId: string, sink: NullSink): Promise<BaselineResult> {
  const client = new pg.Client(pool);
  await client.connect();
  const out = new Lines(sink);
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for (const t of tables) {
      await client.query(`DECLARE c NO SCROLL CURSOR FOR SELECT ${t.columns} FROM "${t.table}" WHERE "ownerId" = ${client.escapeLiteral(ownerId)} ORDER BY "id"`);
      for (;;) {
        const { rows } = await client.query(`FETCH ${PG_FETCH} FROM c`);
        for (const row of rows) if (out.add(t.kind, row)) await out.flush();
        if (rows.length < PG_FETCH) break;
      }
      await client.query("CLOSE c");
    }
    await client.query("COMMIT");
    return await out.end(sink);
  } finally {
    await client.end();
  }
}
