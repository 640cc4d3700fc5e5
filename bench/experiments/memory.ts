// Where an export's resident memory goes: VmRSS/VmHWM at each step and the
// biggest mappings at the end (run: npx tsx bench/experiments/memory.ts <sqlite file> <ownerId>).
import { readFileSync } from "node:fs";
import { openDb } from "../../src/db/client.js";
import { writeExport } from "../../src/engine/export.js";
import { ALL_SECTIONS } from "../../src/engine/kinds/index.js";
import { withSnapshot } from "../../src/engine/snapshot.js";
import { NullSink } from "../sink.js";

const status = () => {
  const s = readFileSync("/proc/self/status", "utf8");
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0) / 1024;
  const m = process.memoryUsage();
  return `rss ${get("VmRSS").toFixed(0)} hwm ${get("VmHWM").toFixed(0)} anon ${get("RssAnon").toFixed(0)} file ${get("RssFile").toFixed(0)} | heapTotal ${(m.heapTotal / 2 ** 20).toFixed(0)} heapUsed ${(m.heapUsed / 2 ** 20).toFixed(0)} external ${(m.external / 2 ** 20).toFixed(0)} arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)}`;
};

/** The largest single anonymous mappings (a WebAssembly memory is one huge reservation). */
function bigAnon(n = 8): string[] {
  const lines = readFileSync("/proc/self/smaps", "utf8").split("\n");
  const maps: { range: string; size: number; rss: number; name: string }[] = [];
  let cur: (typeof maps)[number] | undefined;
  for (const l of lines) {
    const head = /^([0-9a-f]+)-([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(l);
    if (head) {
      cur = { range: `${head[1]}-${head[2]}`, size: (parseInt(head[2], 16) - parseInt(head[1], 16)) / 2 ** 20, rss: 0, name: head[3] || "[anon]" };
      maps.push(cur);
    } else if (cur && l.startsWith("Rss:")) cur.rss = Number(/(\d+)/.exec(l)![1]) / 1024;
  }
  return maps
    .filter((m) => m.name === "[anon]" || m.name === "[heap]")
    .sort((a, b) => b.rss - a.rss)
    .slice(0, n)
    .map((m) => `${m.rss.toFixed(1).padStart(7)} MiB resident of ${m.size.toFixed(0).padStart(6)} MiB ${m.name}`);
}

function bigMappings(n = 12): string[] {
  const lines = readFileSync("/proc/self/smaps", "utf8").split("\n");
  const maps: { name: string; rss: number }[] = [];
  let cur: { name: string; rss: number } | undefined;
  for (const l of lines) {
    const head = /^[0-9a-f]+-[0-9a-f]+\s+\S+\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(l);
    if (head) {
      cur = { name: head[1] || "[anon]", rss: 0 };
      maps.push(cur);
    } else if (cur && l.startsWith("Rss:")) cur.rss = Number(/(\d+)/.exec(l)![1]) / 1024;
  }
  const byName = new Map<string, number>();
  for (const m of maps) byName.set(m.name, (byName.get(m.name) ?? 0) + m.rss);
  return [...byName].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${v.toFixed(1).padStart(7)} MiB ${k}`);
}

const [file, ownerId] = process.argv.slice(2);
const database = { provider: "sqlite" as const, file };
console.log("loaded      ", status());
const h = await openDb(database);
await h.db.user.findUnique({ where: { id: ownerId } });
console.log("first query ", status());
console.log(bigAnon(5).join("\n"));
await h.db.memory.findMany({ where: { ownerId }, take: 2000 });
console.log("one page    ", status());
await h.close();
const sink = new NullSink();
const gc = (globalThis as { gc?: () => void }).gc;
let liveMax = 0;
const timer = setInterval(() => {
  if (gc) {
    gc();
    liveMax = Math.max(liveMax, process.memoryUsage().heapUsed);
  }
  console.log("  during    ", status());
}, 500);
await withSnapshot(database, (db) => writeExport(db, { ownerId, filter: { sections: [...ALL_SECTIONS] }, format: "ZIP" }, sink));
clearInterval(timer);
console.log("export done ", status());
if (gc) console.log(`live JS heap after a full GC, max over the export: ${(liveMax / 2 ** 20).toFixed(0)} MiB`);
console.log(bigMappings(4).join("\n"));
console.log(bigAnon().join("\n"));
