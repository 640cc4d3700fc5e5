// The raw import baseline: the same archive's lines (the reader's gunzip +
// line split, then JSON.parse), and the same rows (same tables, same columns,
// new ids, references remapped, owner = the target user) written through the
// driver with one prepared INSERT per table, all in one transaction. No
// validation, no planning, no conflict checks, no Prisma: the floor the import
// is compared to. JSON references (gloss items, member lists) are left as they
// are; column references, foreign keys or not, get the new ids.
import { randomUUID } from "node:crypto";
import Sqlite from "better-sqlite3";
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

export async function sqliteInsertBaseline(file: string, archivePath: string, tables: InsertTable[], targetUserId: string): Promise<number> {
  const db = new Sqlite(file);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  const byKind = new Map(tables.map((t) => [t.kind, t]));
  const stmts = new Map(
    tables.map((t) => [
      t.kind,
      db.prepare(`INSERT INTO "${t.table}" (${t.columns.map((c) => `"${c.column}"`).join(", ")}) VALUES (${t.columns.map(() => "?").join(", ")})`),
    ]),
  );
  const ids = new Map<string, string>();
  const newId = (old: string) => {
    let id = ids.get(old);
    if (id === undefined) ids.set(old, (id = randomUUID()));
    return id;
  };
  const now = new Date().toISOString().replace("Z", "+00:00");
  let exporter: string | undefined;
  let records = 0;
  const archive = await openArchive(archivePath);
  db.exec("BEGIN");
  try {
    // forward references (a row naming one later in the file) are checked at COMMIT
    db.pragma("defer_foreign_keys = ON");
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
                v = (v as string).endsWith("Z") ? (v as string).slice(0, -1) + "+00:00" : v;
                break;
              case "Boolean":
                v = v ? 1 : 0;
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
        stmts.get(t.kind)!.run(params);
        records++;
      }
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
