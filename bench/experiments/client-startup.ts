// What opening a Prisma client costs (withSnapshot opens one per export):
// npx tsx bench/experiments/client-startup.ts <sqlite file> <ownerId>
import { readFileSync } from "node:fs";
import { openDb } from "../../src/db/client.js";

const rss = () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const [file, ownerId] = process.argv.slice(2);
for (let i = 1; i <= 3; i++) {
  const t0 = performance.now();
  const h = await openDb({ provider: "sqlite", file });
  const t1 = performance.now();
  await h.db.$transaction(async (tx) => {
    await tx.user.findUnique({ where: { id: ownerId } });
  });
  const t2 = performance.now();
  await h.db.memory.findMany({ where: { ownerId }, take: 10 });
  const t3 = performance.now();
  await h.close();
  console.log(`client #${i}: openDb ${(t1 - t0).toFixed(0)} ms, first query in a transaction ${(t2 - t1).toFixed(0)} ms, a new query shape ${(t3 - t2).toFixed(0)} ms, rss ${rss().toFixed(0)} MiB`);
}
