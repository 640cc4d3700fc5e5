import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createUser } from "../src/auth/users.js";
import { runImport } from "../src/engine/import/run.js";
import { engineRuntime, exportLines as baseExportLines, lineSource } from "./support/engine.js";
import { seedDemo } from "../src/seed/index.js";
import { matchRecords, sortedRecords, translated } from "./support/compare.js";

const h = engineRuntime();
const exportLines = (ownerId: string) => baseExportLines(h.rt, ownerId);
const source = lineSource;

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
          const owner = (await createUser(h.rt.db, { email: `owner${n}@example.com` })).user;
          await seedDemo(h.rt.db, { userId: owner.id, scale, seed });
          const memories = await h.rt.db.memory.findMany({ where: { ownerId: owner.id }, orderBy: { id: "asc" }, take: 5, select: { id: true } });
          for (const [i, m] of memories.entries()) {
            await h.rt.db.memory.update({
              where: { id: m.id },
              data: {
                ...(texts[i] !== undefined ? { content: texts[i] } : {}),
                ...(metadata[i] !== undefined && metadata[i] !== null ? { metadata: metadata[i] as object } : {}),
                ...(i === 0 && vector ? { embedding: Buffer.from(new Float32Array(vector).buffer) } : {}),
              },
            });
          }
          const before = await exportLines(owner.id);
          const target = (await createUser(h.rt.db, { email: `target${n}@example.com` })).user;
          await runImport(h.rt.config.database, { targetUserId: target.id, options: { mode: "SKIP", strict: true, resolutions: [] }, source: source(before) });
          const after = await exportLines(target.id);
          const expected = before.map((l) => (l.type === "memoryStatus" ? { ...l, data: { ...l.data, changedById: target.id } } : l));
          expect(translated(expected, matchRecords(expected, after))).toEqual(sortedRecords(after));
        },
      ),
      { numRuns: 6 },
    );
  });
});
