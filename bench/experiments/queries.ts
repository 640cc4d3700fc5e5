// The SQL an export sends, with the time each statement took, grouped by shape:
// npx tsx bench/experiments/queries.ts <sqlite file> <ownerId>
import { openDb } from "../../src/db/client.js";
import { writeExport } from "../../src/engine/export.js";
import { ALL_SECTIONS } from "../../src/engine/kinds/index.js";
import { NullSink } from "../sink.js";

const [file, ownerId] = process.argv.slice(2);
const shapes = new Map<string, { n: number; ms: number }>();
const h = await openDb({ provider: "sqlite", file }, { onQuery: () => {} });
(h.db as unknown as { $on(e: "query", cb: (ev: { query: string; duration: number }) => void): void }).$on("query", (ev) => {
  const shape = ev.query.replace(/\s+/g, " ");
  const s = shapes.get(shape) ?? { n: 0, ms: 0 };
  s.n++;
  s.ms += ev.duration;
  shapes.set(shape, s);
});
await h.db.user.findFirst();
shapes.clear();
await writeExport(h.db, { ownerId, filter: { sections: [...ALL_SECTIONS] }, format: "ZIP" }, new NullSink());
await h.close();
for (const [q, s] of [...shapes].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(process.argv[4] ?? 12)))
  console.log(`${s.ms.toFixed(0).padStart(6)} ms ${String(s.n).padStart(4)}× ${q.length > 700 ? q.slice(0, 700) + "…" : q}\n`);
