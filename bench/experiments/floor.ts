// What a process holds before an export writes its first record, step by step:
//   npx tsx bench/experiments/floor.ts <sqlite file> <ownerId>
// and without the tsx loader (its own module-loader thread and isolate):
//   node_modules/.bin/esbuild bench/experiments/floor.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=.bench-cache/bundle/floor.mjs && node .bench-cache/bundle/floor.mjs <file> <ownerId>
import { readFileSync } from "node:fs";

const kib = (s: string, k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0) / 1024;
let last = 0;
const step = (label: string) => {
  const s = readFileSync("/proc/self/status", "utf8");
  const rss = kib(s, "VmRSS");
  const m = process.memoryUsage();
  console.log(
    `${label.padEnd(44)} rss ${rss.toFixed(0).padStart(4)} MiB (+${(rss - last).toFixed(0).padStart(3)})  anon ${kib(s, "RssAnon").toFixed(0)} file ${kib(s, "RssFile").toFixed(0)}  JS heap ${(m.heapUsed / 2 ** 20).toFixed(0)}/${(m.heapTotal / 2 ** 20).toFixed(0)} external ${(m.external / 2 ** 20).toFixed(0)}`,
  );
  last = rss;
};

const [file, ownerId] = process.argv.slice(2);
const database = { provider: "sqlite" as const, file };
step("node started (this script loaded)");
await import("better-sqlite3");
await import("pg");
step("drivers (better-sqlite3, pg)");
await import("../../src/engine/kinds/index.js");
step("kind registry (models.ts: the datamodel; zod)");
const { writeExport } = await import("../../src/engine/export.js");
const { withDriverSnapshot, withSnapshot } = await import("../../src/engine/snapshot.js");
const { ALL_SECTIONS } = await import("../../src/engine/kinds/index.js");
step("export code (archiver, zip, writers)");
const { NullSink } = await import("../sink.js");
const filter = { sections: [...ALL_SECTIONS] };
await withDriverSnapshot(database, (db) => writeExport(db, { ownerId, filter, format: "ZIP" }, new NullSink()));
step("one whole export, no Prisma client (driver)");
const { openDb } = await import("../../src/db/client.js");
const h = await openDb(database);
step("a Prisma client (openDb: engine + compiler)");
await h.db.user.findUnique({ where: { id: ownerId } });
step("its first query");
await withSnapshot(database, (db) => db.user.findUnique({ where: { id: ownerId } }));
step("a snapshot (withSnapshot: a second client)");
await withSnapshot(database, (db) => writeExport(db, { ownerId, filter, format: "ZIP" }, new NullSink()));
step("one whole export in withSnapshot");
await h.close();
