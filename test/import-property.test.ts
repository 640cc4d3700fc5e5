import { PassThrough } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../src/auth/users.js";
import { loadConfig } from "../src/config.js";
import { writeExport } from "../src/engine/export.js";
import { runImport } from "../src/engine/import/run.js";
import type { LineSource, ParsedLine } from "../src/engine/import/types.js";
import { ALL_SECTIONS } from "../src/engine/kinds/index.js";
import { withSnapshot } from "../src/engine/snapshot.js";
import { createLogger } from "../src/logger.js";
import { openRuntime, type Runtime } from "../src/runtime.js";
import { seedDemo } from "../src/seed/index.js";
import { readNative, type Line } from "./support/archive.js";
import { matchRecords, sortedRecords, translated } from "./support/compare.js";
import { testDatabase, type TestDatabase } from "./support/database.js";

let tdb: TestDatabase;
let rt: Runtime;
beforeAll(async () => {
  tdb = testDatabase();
  const config = loadConfig({ DATA_DIR: tdb.dataDir, LOG_LEVEL: "silent" });
  config.database = tdb.database;
  rt = await openRuntime({ config, logger: createLogger("silent") });
});
afterAll(async () => {
  await rt.close();
  await tdb.drop();
});

async function exportLines(ownerId: string): Promise<Line[]> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (c: Buffer) => chunks.push(c));
  await withSnapshot(rt.config.database, (db) => writeExport(db, { ownerId, filter: { sections: [...ALL_SECTIONS], includeVectors: true } , format: "ZIP" }, sink));
  return (await readNative(Buffer.concat(chunks))).lines;
}

const source = (lines: Line[]): LineSource =>
  async function* () {
    yield lines.map((l, i): ParsedLine => ({ ok: true, line: i + 1, type: l.type, data: l.data }));
  };

let n = 0;

describe("export → import into a new user → export", () => {
  it("gives the same records except ids, over random datasets of both families", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          scale: fc.integer({ min: 30, max: 250 }),
          // awkward values written over generated memories: any text, any JSON
          texts: fc.array(fc.string({ unit: "grapheme", maxLength: 200 }), { maxLength: 5 }),
          metadata: fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 5 }),
          vector: fc.option(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 16 })),
        }),
        async ({ seed, scale, texts, metadata, vector }) => {
          n++;
          const owner = (await createUser(rt.db, { email: `owner${n}@example.com` })).user;
          await seedDemo(rt.db, { userId: owner.id, scale, seed });
          const memories = await rt.db.memory.findMany({ where: { ownerId: owner.id }, orderBy: { id: "asc" }, take: 5, select: { id: true } });
          for (const [i, m] of memories.entries()) {
            await rt.db.memory.update({
              where: { id: m.id },
              data: {
                ...(texts[i] !== undefined ? { content: texts[i] } : {}),
                ...(metadata[i] !== undefined && metadata[i] !== null ? { metadata: metadata[i] as object } : {}),
                ...(i === 0 && vector ? { embedding: Buffer.from(new Float32Array(vector).buffer) } : {}),
              },
            });
          }
          const before = await exportLines(owner.id);
          const target = (await createUser(rt.db, { email: `target${n}@example.com` })).user;
          await runImport(rt.config.database, { targetUserId: target.id, options: { mode: "SKIP", strict: true, resolutions: [] }, source: source(before) });
          const after = await exportLines(target.id);
          const expected = before.map((l) => (l.type === "memoryStatus" ? { ...l, data: { ...l.data, changedById: target.id } } : l));
          expect(translated(expected, matchRecords(expected, after))).toEqual(sortedRecords(after));
        },
      ),
      { numRuns: 6 },
    );
  });
});
