// The export reads rows through the driver and decodes them itself
// (src/engine/sql-read.ts). Whatever it writes must be what Prisma's read
// plus the registry's toLineData writes, for every kind and column type —
// including rows whose values sit at the edges of their types.
import { describe, expect, it } from "vitest";
import { createUser } from "../src/auth/users.js";
import { KINDS, toLineData, type ExportFilter } from "../src/engine/kinds/index.js";
import { delegate, selectedRecords } from "../src/engine/records.js";
import { withDriverSnapshot, withSnapshot } from "../src/engine/snapshot.js";
import { writeExport } from "../src/engine/export.js";
import { ALL_SECTIONS } from "../src/engine/kinds/index.js";
import { readNative } from "./support/archive.js";
import { PassThrough } from "node:stream";
import { SqlSource } from "../src/engine/sql-read.js";
import { rawReader } from "../src/db/raw.js";
import type { Db } from "../src/db/client.js";
import { seedDemo } from "../src/seed/index.js";
import { engineRuntime } from "./support/engine.js";

const h = engineRuntime();

const FILTERS: Pick<ExportFilter, "includeVectors" | "includeInterpolated">[] = [{}, { includeVectors: true, includeInterpolated: true }];

async function viaPrisma(db: Db, ownerId: string, filter: (typeof FILTERS)[number]) {
  const out: Record<string, unknown[]> = {};
  for (const kind of KINDS) {
    const omit = kind.vectorField && !filter.includeVectors ? { omit: { [kind.vectorField]: true } } : {};
    const rows = await delegate(db, kind).findMany({ where: { ownerId }, orderBy: { id: "asc" }, ...omit });
    out[kind.kind] = rows.map((r) => toLineData(kind, r, filter));
  }
  return out;
}

async function viaDriver(db: Db, ownerId: string, filter: (typeof FILTERS)[number]) {
  const src = new SqlSource(await rawReader(db));
  const out: Record<string, unknown[]> = {};
  for (const kind of KINDS) out[kind.kind] = await src.lines(kind, { ownerId }, filter);
  return out;
}

describe("driver-level export reads", () => {
  it("decode every kind's rows exactly as Prisma's read and toLineData do, demo data and edge values", async () => {
    const { user } = await createUser(h.rt.db, { email: "edges@example.com" });
    await seedDemo(h.rt.db, { userId: user.id, scale: 600, seed: 11 });
    const db = h.rt.db;
    // edges: a zero-millisecond and a far-future instant, false, a float with no fraction, JSON null vs SQL NULL,
    // unicode and escapes, an empty vector and one with NaN-free float bytes, nullable columns left null
    const app = await db.app.create({
      data: { ownerId: user.id, name: "edge app \u2603 \"quoted\"\n", isActive: false, metadata: { n: 1.0, big: 12345678901234, s: "\u2028\t\\", nested: [null, { a: [] }] }, createdAt: new Date("2030-12-31T23:59:59.000Z"), updatedAt: new Date("1999-01-01T00:00:00.001Z") },
    });
    await db.memory.create({ data: { ownerId: user.id, appId: app.id, content: "", metadata: undefined, embedding: new Uint8Array(0) } });
    await db.memory.create({ data: { ownerId: user.id, appId: app.id, content: "x", embedding: new Uint8Array(new Float32Array([1.5, -0, 3e38]).buffer), archivedAt: new Date(0) } });
    // a row whose exact column holds entries (kinds/exact.ts): microseconds of an instant, the digits of a JSON number
    await db.memory.create({
      data: {
        ownerId: user.id,
        appId: app.id,
        content: "exact",
        metadata: { n: 9007199254740992 },
        createdAt: new Date("2024-05-06T07:08:09.123Z"),
        exact: { createdAt: "2024-05-06T07:08:09.123456Z", metadata: '{"n":9007199254740993}', updatedAt: "1999-01-01T00:00:00.000001Z" },
      },
    });
    const video = await db.video.create({ data: { ownerId: user.id, title: "v", fps: 30, durationMs: 0, width: null, metadata: [] } });
    await db.annotation.create({
      data: { ownerId: user.id, videoId: video.id, annotationType: "type", boundingBoxSequence: { boxes: [{ x: 0, y: 0, width: 1, height: 1, frameNumber: 0, isKeyframe: true }, { x: 1, y: 1, width: 1, height: 1, frameNumber: 1, isKeyframe: false }] }, confidence: 1, notes: "" },
    });

    for (const filter of FILTERS) {
      const want = await viaPrisma(db, user.id, filter);
      expect(await viaDriver(db, user.id, filter)).toEqual(want);
      // and inside a snapshot, on the transaction's own connection
      const inSnapshot = await withSnapshot(h.rt.config.database, (tx) => viaDriver(tx, user.id, filter));
      expect(inSnapshot).toEqual(want);
      // byte for byte as lines, key order included
      const got = await viaDriver(db, user.id, filter);
      for (const kind of KINDS) {
        // the demo data has every kind, so every decoder is exercised
        expect(want[kind.kind].length, kind.kind).toBeGreaterThan(0);
        expect(got[kind.kind].map((d) => JSON.stringify(d)), kind.kind).toEqual(want[kind.kind].map((d) => JSON.stringify(d)));
      }
    }
  });

  it.each([
    ["withSnapshot", withSnapshot],
    ["withDriverSnapshot", withDriverSnapshot],
  ] as const)("selectedRecords inside %s sees the snapshot, not writes made after it began", async (name, snapshot) => {
    const { user } = await createUser(h.rt.db, { email: `snap-${name}@example.com` });
    await seedDemo(h.rt.db, { userId: user.id, scale: 200, seed: 5 });
    const before = await h.rt.db.memory.count({ where: { ownerId: user.id } });
    const app = await h.rt.db.app.findFirstOrThrow({ where: { ownerId: user.id } });
    const seen = await snapshot(h.rt.config.database, async (tx) => {
      const pages = selectedRecords(tx, user.id, { sections: ["MEMORIES"] });
      let memories = 0;
      let first = true;
      for await (const page of pages) {
        if (first) {
          // another connection writes while the export is under way
          await h.rt.db.memory.create({ data: { ownerId: user.id, appId: app.id, content: "late" } });
          first = false;
        }
        memories += page.filter((r) => r.kind.kind === "memory").length;
      }
      return memories;
    });
    expect(seen).toBe(before);
  });

  it("a native export without any Prisma client (withDriverSnapshot) is the export withSnapshot writes", async () => {
    const { user } = await createUser(h.rt.db, { email: "noprisma@example.com" });
    await seedDemo(h.rt.db, { userId: user.id, scale: 300, seed: 9 });
    const now = new Date("2026-01-02T03:04:05.678Z");
    const run = async (snapshot: typeof withSnapshot) => {
      const sink = new PassThrough();
      const chunks: Buffer[] = [];
      sink.on("data", (c: Buffer) => chunks.push(c));
      const result = await snapshot(h.rt.config.database, (db) => writeExport(db, { ownerId: user.id, filter: { sections: [...ALL_SECTIONS], includeVectors: true }, format: "ZIP", now }, sink));
      return { result, archive: await readNative(Buffer.concat(chunks)) };
    };
    const [a, b] = [await run(withSnapshot), await run(withDriverSnapshot)];
    expect(b.result).toEqual(a.result);
    expect(b.archive.lines).toEqual(a.archive.lines);
    expect(b.archive.manifest).toEqual(a.archive.manifest);
    // and it really has no Prisma client to fall back on
    await expect(withDriverSnapshot(h.rt.config.database, async (db) => db.user.count())).rejects.toThrow(/no Prisma client/);
  });
});
