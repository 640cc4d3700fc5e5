// What each layer costs per row, one kind at a time (SQLite): the driver alone,
// Prisma's findMany on top, then toLineData, then JSON.stringify, each a full
// keyset pass over the owner's rows in pages of 2000, CPU time measured.
//   npx tsx bench/experiments/layers.ts <sqlite file> <ownerId> [Kind ...]
import Sqlite from "better-sqlite3";
import { openDb } from "../../src/db/client.js";
import { modelInfos } from "../../src/db/bulk.js";
import { KINDS, lineColumns, toLineData, type Row } from "../../src/engine/kinds/index.js";
import { delegate } from "../../src/engine/records.js";

const [file, ownerId, ...only] = process.argv.slice(2);
const PAGE = 2000;
const filter = {};

function timed(label: string, rows: number, fn: () => Promise<unknown> | unknown) {
  return (async () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    console.log(
      `  ${label.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms wall ${((cpu.user + cpu.system) / 1000).toFixed(0).padStart(6)} ms CPU  ${((1000 * ms) / rows).toFixed(2).padStart(6)} µs/row`,
    );
  })();
}

const raw = new Sqlite(file, { readonly: true });
const h = await openDb({ provider: "sqlite", file });
await h.db.user.findFirst();
for (const kind of KINDS.filter((k) => !only.length || only.includes(k.model))) {
  const table = modelInfos("sqlite").get(kind.model)!.table;
  const cols = lineColumns(kind).filter((c) => c.field !== kind.vectorField);
  const n = (raw.prepare(`SELECT count(*) AS n FROM "${table}" WHERE ownerId = ?`).get(ownerId) as { n: number }).n;
  if (n < 20000) continue;
  console.log(`${kind.model}: ${n} rows`);
  const stmt = raw.prepare(`SELECT ${cols.map((c) => `"${c.column}"`).join(", ")} FROM "${table}" WHERE ownerId = ? AND id > ? ORDER BY id LIMIT ${PAGE}`);
  const rawPages = () => {
    let last = "";
    let out = 0;
    for (;;) {
      const page = stmt.all(ownerId, last) as Row[];
      out += page.length;
      if (page.length < PAGE) return out;
      last = page[page.length - 1].id as string;
    }
  };
  const jsonCols = cols.filter((c) => c.type === "Json").map((c) => c.field);
  await timed("better-sqlite3 pages (JSON columns as text)", n, rawPages);
  await timed("  + JSON.parse of the Json columns", n, () => {
    let last = "";
    for (;;) {
      const page = stmt.all(ownerId, last) as Row[];
      for (const r of page) for (const f of jsonCols) if (typeof r[f] === "string") r[f] = JSON.parse(r[f] as string);
      if (page.length < PAGE) return;
      last = page[page.length - 1].id as string;
    }
  });
  const d = delegate(h.db, kind);
  const omit = kind.vectorField ? { [kind.vectorField]: true } : undefined;
  const prismaPages = async (each?: (rows: Row[]) => void) => {
    let last: string | undefined;
    for (;;) {
      const page = await d.findMany({ where: last ? { ownerId, id: { gt: last } } : { ownerId }, orderBy: { id: "asc" }, take: PAGE, ...(omit ? { omit } : {}) });
      each?.(page);
      if (page.length < PAGE) return;
      last = page[page.length - 1].id as string;
    }
  };
  await timed("Prisma findMany pages", n, () => prismaPages());
  const sql = `SELECT ${cols.map((c) => `"${c.column}"`).join(", ")} FROM "${table}" WHERE ownerId = ? AND id > ? ORDER BY id LIMIT ${PAGE}`;
  await timed("Prisma $queryRawUnsafe pages (same SQL as raw)", n, async () => {
    let last = "";
    for (;;) {
      const page = (await h.db.$queryRawUnsafe(sql, ownerId, last)) as Row[];
      if (page.length < PAGE) return;
      last = page[page.length - 1].id as string;
    }
  });
  await timed("  + toLineData", n, () => prismaPages((rows) => rows.forEach((r) => toLineData(kind, r, filter))));
  let bytes = 0;
  await timed("  + toLineData + JSON.stringify line", n, () =>
    prismaPages((rows) => rows.forEach((r) => (bytes += JSON.stringify({ type: kind.kind, data: toLineData(kind, r, filter) }).length))),
  );
  await timed("raw pages + JSON.parse + JSON.stringify line", n, () => {
    let last = "";
    for (;;) {
      const page = stmt.all(ownerId, last) as Row[];
      for (const r of page) {
        for (const f of jsonCols) if (typeof r[f] === "string") r[f] = JSON.parse(r[f] as string);
        JSON.stringify({ type: kind.kind, data: r });
      }
      if (page.length < PAGE) return;
      last = page[page.length - 1].id as string;
    }
  });
}
await h.close();
raw.close();
