import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { BulkWriter, bulkInsert, modelInfos, providerOf, type ModelName } from "../src/db/bulk.js";
import type { Db } from "../src/db/client.js";
import { withDriverTransaction } from "../src/db/driver-tx.js";
import { DriverWriter } from "../src/db/driver-write.js";
import { isCanonicalInstant, JSON_NULL } from "../src/db/values.js";
import { Prisma } from "../src/generated/sqlite/client.js";
import { createLogger } from "../src/logger.js";
import { openRuntime, type Runtime } from "../src/runtime.js";
import { testDatabase, type TestDatabase } from "./support/database.js";

// Three fresh databases: rows go into one through Prisma's own `create`, and
// the same input into the others through `bulkInsert` and through the import's
// DriverWriter (values in the drivers' own forms, no Prisma); then all are read
// back with `findMany` and, column by column, in their stored form.

interface Side {
  tdb: TestDatabase;
  rt: Runtime;
  db: Db;
  queries: string[];
}

async function open(): Promise<Side> {
  const tdb = testDatabase();
  const config = loadConfig({ DATA_DIR: tdb.dataDir, LOG_LEVEL: "silent" });
  config.database = tdb.database;
  const queries: string[] = [];
  const rt = await openRuntime({ config, logger: createLogger("silent"), db: { onQuery: (q) => queries.push(q) } });
  return { tdb, rt, db: rt.db, queries };
}

const USER = "00000000-0000-4000-8000-000000000001";
const t = (iso: string) => new Date(iso);
const id = (n: number) => `10000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const floats = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer);

/** Input rows per model, in an order that satisfies foreign keys; every column type appears. */
const INPUT: [ModelName, Record<string, unknown>][] = [
  ["App", { id: id(1), ownerId: USER, name: "cursor", description: "IDE", metadata: { plan: "pro", seats: 3, nested: { a: [1, 2.5, { b: null }] } }, isActive: false, createdAt: t("2024-01-02T03:04:05.678Z"), updatedAt: t("2024-01-02T03:04:05Z") }],
  ["App", { id: id(2), ownerId: USER, name: "café ☕ app" }],
  ["Category", { id: id(3), ownerId: USER, name: "work", createdAt: t("1969-07-20T20:17:40.001Z"), updatedAt: t("2099-12-31T23:59:59.999Z") }],
  // Json scalars of every kind, Bytes, enums, nullable dates
  ["Memory", { id: id(10), ownerId: USER, appId: id(1), content: "line1\nline2\r\n\ttab \u2028 \u{1F469}\u200D\u{1F4BB} עברית", metadata: { emoji: "🎉", list: [1, "2", null, true], deep: { a: { b: { c: {} } } } }, state: "archived", embedding: floats([0.1, -2.5, 3e-7, 1e30]), createdAt: t("2024-05-01T00:00:00.000Z"), updatedAt: t("2024-05-02T00:00:00.000Z"), archivedAt: t("2024-05-02T00:00:00.000Z") }],
  ["Memory", { id: id(11), ownerId: USER, appId: id(1), content: "json number", metadata: 5 }],
  ["Memory", { id: id(12), ownerId: USER, appId: id(1), content: "json string", metadata: "5" }],
  ["Memory", { id: id(13), ownerId: USER, appId: id(1), content: "json true", metadata: true }],
  ["Memory", { id: id(14), ownerId: USER, appId: id(2), content: "json null", metadata: Prisma.JsonNull, state: "deleted", deletedAt: t("2025-02-03T04:05:06.007Z"), archivedAt: t("2025-01-03T04:05:06.007Z") }],
  ["Memory", { id: id(15), ownerId: USER, appId: id(2), content: "json float and array", metadata: [0.1, -0, 1e21, "x\"y\\z"], embedding: Buffer.alloc(0) }],
  ["Memory", { id: id(16), ownerId: USER, appId: id(2), content: "  padded  ", state: "paused", metadata: Prisma.DbNull }],
  ["MemoryCategory", { id: id(20), ownerId: USER, memoryId: id(10), categoryId: id(3) }],
  ["MemoryStatus", { id: id(21), ownerId: USER, memoryId: id(10), changedById: USER, oldState: "active", newState: "archived", changedAt: t("2024-05-02T00:00:00.000Z") }],
  ["MemoryStatus", { id: id(22), ownerId: USER, memoryId: id(14), oldState: "deleted", newState: "active" }],
  ["AccessControl", { id: id(23), ownerId: USER, subjectType: "app", subjectId: id(1), objectType: "memory", objectId: null, effect: "deny" }],
  ["ExportJob", { id: id(30), ownerId: USER, requestedById: USER, format: "FOVEA", filter: { kinds: ["memory"], from: null }, recordsWritten: 2147483647, recordsTotal: -5, counts: { memory: 7 }, byteSize: 9007199254740993n, status: "SUCCEEDED", startedAt: t("2024-01-01T00:00:00.000Z"), finishedAt: t("2024-01-01T00:00:00.001Z") }],
  ["ExportJob", { id: id(31), ownerId: USER, requestedById: USER, format: "ZIP", filter: [] }],
  ["StagedUpload", { id: id(32), userId: USER, filename: "a.zip", byteSize: -1n, sha256: "ab", format: "JSONL", storageKey: "k", expiresAt: t("2030-01-01T00:00:00.000Z") }],
  ["ImportRecord", { id: id(33), requestedById: USER, targetUserId: USER, filename: "b.zip", sha256: "cd", byteSize: 0n, format: "OPENMEMORY", mode: "OVERWRITE", options: { dryRun: false }, crossUser: true, warnings: [{ line: 3, message: "ünïcode" }] }],
  ["ImportRecord", { id: id(34), requestedById: USER, targetUserId: USER, filename: "c.zip", sha256: "ef", byteSize: 123n, format: "ZIP", mode: "SKIP", options: {} }],
  ["Persona", { id: id(40), ownerId: USER, name: "Analyst" }],
  ["Persona", { id: id(41), ownerId: USER, name: "Journalist", role: "reporter", informationNeed: "who", details: "free text" }],
  ["Ontology", { id: id(42), ownerId: USER, personaId: id(40), entityTypes: [{ id: "e1", name: "car", gloss: [{ type: "text", content: "a car" }] }], eventTypes: [], roleTypes: [], relationTypes: [], relations: [] }],
  ["WorldEntity", { id: id(50), ownerId: USER, name: "Fox 11 LA", description: [{ type: "text", content: "TV" }], typeAssignments: [] }],
  ["WorldLocation", { id: id(51), ownerId: USER, name: "LA", description: [], typeAssignments: [], coordinates: { latitude: 34.05, longitude: -118.25 } }],
  ["WorldLocation", { id: id(52), ownerId: USER, name: "Zone", description: [], typeAssignments: [], locationType: "extent" }],
  ["WorldEvent", { id: id(53), ownerId: USER, name: "Fire", description: [], personaInterpretations: [{ personaId: id(40), participants: [] }] }],
  ["WorldTime", { id: id(54), ownerId: USER, type: "interval", startTime: "2024-01-01T00:00:00Z", endTime: "2024-01-02T00:00:00Z" }],
  ["WorldCollection", { id: id(55), ownerId: USER, memberKind: "entity", name: "All", description: [], members: [id(50)], typeAssignments: [] }],
  ["WorldRelation", { id: id(56), ownerId: USER, relationTypeId: "r1", sourceType: "entity", sourceId: id(50), targetType: "location", targetId: id(51) }],
  ["Video", { id: id(60), ownerId: USER, title: "clip", url: "https://example.com/v.mp4", durationMs: 61_000, fps: 29.97, width: 1920, height: 1080, metadata: { tags: [] } }],
  ["Video", { id: id(61), ownerId: USER, title: "bare" }],
  ["VideoSummary", { id: id(62), ownerId: USER, videoId: id(60), personaId: id(40), summary: [] }],
  // a claim tree inside one statement: the parent precedes its child
  ["Claim", { id: id(70), ownerId: USER, summaryId: id(62), text: "root", gloss: [{ type: "text", content: "root" }], confidence: 0.1 + 0.2 }],
  ["Claim", { id: id(71), ownerId: USER, summaryId: id(62), parentClaimId: id(70), text: "child", gloss: [{ type: "claimRef", content: id(70), refType: "claim", refClaimId: id(70) }], confidence: 1 }],
  ["ClaimRelation", { id: id(72), ownerId: USER, sourceClaimId: id(71), targetClaimId: id(70), relationTypeId: "r1", extra: { confidence: 0.5 } }],
  ["Annotation", { id: id(80), ownerId: USER, videoId: id(60), annotationType: "object", linkType: "location", linkedLocationId: id(51), boundingBoxSequence: { boxes: [{ x: 1.5, y: 2, width: 3, height: 4, frameNumber: 0, isKeyframe: true }], interpolationSegments: [], visibilityRanges: [] }, totalFrames: 1, keyframeCount: 1, confidence: -1.5e-7, notes: "n" }],
  ["Annotation", { id: id(81), ownerId: USER, videoId: id(61), personaId: id(40), annotationType: "type", typeCategory: "entity", typeId: "e1", boundingBoxSequence: {} }],
];

const MODELS = [...new Set(INPUT.map(([m]) => m))];
const delegate = (db: Db, model: ModelName) =>
  (db as unknown as Record<string, { create(a: unknown): Promise<unknown>; findMany(a: unknown): Promise<Record<string, unknown>[]> }>)[
    model[0].toLowerCase() + model.slice(1)
  ];

/** Every column of a table in its stored form, rows ordered by id. */
async function stored(db: Db, model: ModelName): Promise<unknown[]> {
  const provider = providerOf(db);
  const info = modelInfos(provider).get(model)!;
  const cols = info.columns.map((c) =>
    provider === "sqlite" ? `quote("${c.column}") AS "${c.column}"` : `"${c.column}"::text AS "${c.column}"`,
  );
  return db.$queryRawUnsafe(`SELECT ${cols.join(", ")} FROM "${info.table}" ORDER BY "id"`);
}

let viaPrisma: Side;
let viaBulk: Side;
let viaDriver: Side;

/**
 * The input as an import hands it to DriverWriter: instants as the ISO text
 * they are in an archive (every other one; a Date for the rest, and one
 * offset text), the JSON value null as JSON_NULL, SQL NULL as null.
 */
function driverInput(row: Record<string, unknown>, n: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v instanceof Date) out[k] = n % 2 ? v : k === "updatedAt" && n === 0 ? v.toISOString().replace("Z", "+00:00") : v.toISOString();
    else out[k] = v === Prisma.JsonNull ? JSON_NULL : v === Prisma.DbNull ? null : v;
  }
  return out;
}

beforeAll(async () => {
  [viaPrisma, viaBulk, viaDriver] = await Promise.all([open(), open(), open()]);
  for (const s of [viaPrisma, viaBulk, viaDriver]) {
    await s.db.user.create({ data: { id: USER, email: "u@example.com", createdAt: t("2024-01-01T00:00:00Z"), updatedAt: t("2024-01-01T00:00:00Z") } });
  }
  for (const [model, data] of INPUT) await delegate(viaPrisma.db, model).create({ data });
  // in one interactive transaction, one call per model
  await viaBulk.db.$transaction(async (tx) => {
    for (const model of MODELS) {
      const rows = INPUT.filter(([m]) => m === model).map(([, r]) => r);
      expect(await bulkInsert(tx, model, rows)).toBe(rows.length);
    }
  });
  await withDriverTransaction(viaDriver.tdb.database, async (tx) => {
    const writer = new DriverWriter(tx);
    for (const [i, [model, row]] of INPUT.entries()) await writer.add(model, driverInput(row, i));
    await writer.flush();
  });
});

afterAll(async () => {
  for (const s of [viaPrisma, viaBulk, viaDriver]) {
    await s?.rt.close();
    await s?.tdb.drop();
  }
});

/** Fields whose value comes from @default(uuid()) or @default(now()) when the input leaves them out. */
function generated(model: ModelName, field: string, input: Record<string, unknown>): boolean {
  const c = modelInfos("sqlite").get(model)!.byField.get(field)!;
  return input[field] === undefined && (c.default?.kind === "uuid" || c.default?.kind === "now" || c.isUpdatedAt);
}

for (const [writer, side] of [["bulkInsert", () => viaBulk], ["DriverWriter", () => viaDriver]] as const) {
  describe(`${writer} stores rows exactly as Prisma's create does`, () => {
    for (const model of MODELS) {
      it(`${model}: findMany gives the same values`, async () => {
        const [a, b] = await Promise.all([viaPrisma, side()].map((s) => delegate(s.db, model).findMany({ orderBy: { id: "asc" } })));
        expect(b.length).toBe(a.length);
        for (let i = 0; i < a.length; i++) {
          const input = INPUT.filter(([m]) => m === model)[i][1];
          for (const [field, value] of Object.entries(a[i])) {
            if (generated(model, field, input)) {
              // filled from @default(now()) at insert time on each side: same type, same shape
              expect(b[i][field], `${model}.${field}`).toBeInstanceOf(Date);
              continue;
            }
            expect(b[i][field], `${model}.${field}`).toEqual(value);
          }
        }
      });

      it(`${model}: the stored column values are identical`, async () => {
        const [a, b] = (await Promise.all([viaPrisma, side()].map((s) => stored(s.db, model)))) as Record<string, unknown>[][];
        const inputs = INPUT.filter(([m]) => m === model).map(([, r]) => r);
        const sortedInputs = [...inputs].sort((x, y) => String(x.id).localeCompare(String(y.id)));
        for (let i = 0; i < a.length; i++) {
          for (const field of Object.keys(a[i])) {
            if (generated(model, field, sortedInputs[i])) {
              // same storage format (ISO text with +00:00 on SQLite) even though the instant differs;
              // PostgreSQL stores timestamps in binary and prints only the significant fraction digits
              const pg = providerOf(side().db) === "postgresql";
              const shape = (v: unknown) => (pg ? String(v).replace(/\.\d+$/, "") : String(v)).replace(/\d/g, "9");
              expect(shape(b[i][field]), `${model}.${field}`).toBe(shape(a[i][field]));
              continue;
            }
            expect(b[i][field], `${model}.${field}`).toEqual(a[i][field]);
          }
        }
      });
    }
  });
}

describe("bulkInsert defaults", () => {
  it("fills defaults like Prisma: uuid v4 ids, one now() for createdAt and updatedAt, literals", async () => {
    const before = Date.now();
    await bulkInsert(viaBulk.db, "Persona", [{ ownerId: USER, name: "defaults" }]);
    const p = await viaBulk.db.persona.findFirstOrThrow({ where: { name: "defaults" } });
    expect(p.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(p.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(p.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(p.updatedAt).toEqual(p.createdAt);
    expect(p).toMatchObject({ role: "", informationNeed: "", details: null });
    const app = await viaBulk.db.app.findFirstOrThrow({ where: { name: "café ☕ app" } });
    expect(app).toMatchObject({ isActive: true, description: null, metadata: null });
  });
});

describe("bulkInsert mechanics", () => {
  it("splits rows over statements by the bind-parameter limit and the row cap", async () => {
    const s = viaBulk;
    const provider = providerOf(s.db);
    const ncols = modelInfos(provider).get("WorldTime")!.columns.length;
    const perStatement = Math.floor((provider === "sqlite" ? 32766 : 65535) / ncols);
    const n = perStatement * 2 + 7;
    const rows = Array.from({ length: n }, (_, i) => ({ ownerId: USER, type: "instant", timestamp: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(), label: `t${i}` }));
    s.queries.length = 0;
    expect(await bulkInsert(s.db, "WorldTime", rows, { rowsPerStatement: 1_000_000 })).toBe(n);
    expect(s.queries.filter((q) => q.startsWith('INSERT INTO "WorldTime"')).length).toBe(3);
    s.queries.length = 0;
    expect(await bulkInsert(s.db, "WorldTime", rows.slice(0, 250).map((r) => ({ ...r, label: `again ${r.label}` })), { rowsPerStatement: 100 })).toBe(250);
    expect(s.queries.filter((q) => q.startsWith('INSERT INTO "WorldTime"')).length).toBe(3);
    expect(await s.db.worldTime.count({ where: { type: "instant" } })).toBe(n + 250);
  });

  it("runs inside an interactive transaction and rolls back with it", async () => {
    const s = viaBulk;
    await expect(
      s.db.$transaction(async (tx) => {
        await bulkInsert(tx, "Video", [{ ownerId: USER, title: "rolled back" }]);
        expect(await tx.video.count({ where: { title: "rolled back" } })).toBe(1);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await s.db.video.count({ where: { title: "rolled back" } })).toBe(0);
  });

  it("refuses unknown fields, missing required fields, bad enum values and wrong types", async () => {
    const db = viaBulk.db;
    await expect(bulkInsert(db, "Video", [{ ownerId: USER, title: "x", nope: 1 }])).rejects.toThrow(/unknown field nope/);
    await expect(bulkInsert(db, "Video", [{ ownerId: USER }])).rejects.toThrow(/missing required field title/);
    await expect(bulkInsert(db, "MemoryStatus", [{ ownerId: USER, memoryId: id(10), oldState: "gone", newState: "active" }])).rejects.toThrow(/oldState must be one of/);
    await expect(bulkInsert(db, "Video", [{ ownerId: USER, title: "x", width: 1.5 }])).rejects.toThrow(/width must be a 32-bit integer/);
    await expect(bulkInsert(db, "Video", [{ ownerId: USER, title: "x", createdAt: "yesterday" }])).rejects.toThrow(/createdAt must be a Date/);
    expect(await db.video.count({ where: { title: "x" } })).toBe(0);
  });

  it("BulkWriter writes parents before children whatever fills up first", async () => {
    const db = viaBulk.db;
    const flushed: string[] = [];
    const w = new BulkWriter(db, { batchSize: 3, onFlush: (m, n) => flushed.push(`${m}:${n}`) });
    await w.add("Video", { id: id(90), ownerId: USER, title: "w" });
    await w.add("Persona", { id: id(91), ownerId: USER, name: "writer" });
    await w.add("VideoSummary", { id: id(92), ownerId: USER, videoId: id(90), personaId: id(91), summary: [] });
    for (let i = 0; i < 4; i++) {
      await w.add("Claim", { id: id(93 + i), ownerId: USER, summaryId: id(92), parentClaimId: i ? id(93) : undefined, text: `c${i}`, gloss: [] });
    }
    expect(flushed.slice(0, 4)).toEqual(["Video:1", "Persona:1", "VideoSummary:1", "Claim:3"]);
    await w.flush();
    expect(w.counts).toEqual({ Video: 1, Persona: 1, VideoSummary: 1, Claim: 4 });
    expect(await db.claim.count({ where: { summaryId: id(92) } })).toBe(4);
  });
});

describe("DriverWriter.replaceTexts", () => {
  it("replaces each text in the given String and JSON columns of the listed rows only, after what is buffered, in any number of pairs", async () => {
    const s = viaDriver;
    const x = "a0000000-0000-4000-8000-00000000000a";
    const y = "b0000000-0000-4000-8000-00000000000b";
    const many = Array.from({ length: 20 }, (_, i) => [`c${String(i).padStart(7, "0")}-0000-4000-8000-000000000000`, `d${String(i).padStart(7, "0")}-0000-4000-8000-000000000000`] as const);
    await withDriverTransaction(s.tdb.database, async (tx) => {
      const writer = new DriverWriter(tx);
      await writer.add("Video", { id: id(190), ownerId: USER, title: "replace" });
      await writer.add("Persona", { id: id(191), ownerId: USER, name: "replace" });
      await writer.add("VideoSummary", { id: id(192), ownerId: USER, videoId: id(190), personaId: id(191), summary: [] });
      const claim = (n: number, text: string, gloss: unknown, extra: unknown) => writer.add("Claim", { id: id(n), ownerId: USER, summaryId: id(192), text, gloss, extra });
      await claim(193, `${x} and again ${x}`, [{ type: "claimRef", content: x }], { cited: [x, "other"] });
      await claim(194, many.map(([from]) => from).join(" "), [], null);
      await claim(195, `untouched ${x}`, [{ content: x }], null);
      // nothing flushed yet: replaceTexts writes the buffered rows first
      await writer.replaceTexts("Claim", ["text", "gloss", "extra"], [
        { id: id(193), pairs: [[x, y]] },
        { id: id(194), pairs: many },
      ]);
      await expect(writer.replaceTexts("Claim", ["confidence"], [{ id: id(193), pairs: [[x, y]] }])).rejects.toThrow(/no text or JSON column/);
    });
    const rows = await s.db.claim.findMany({ where: { id: { in: [id(193), id(194), id(195)] } }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.text, r.gloss, r.extra])).toEqual([
      [`${y} and again ${y}`, [{ type: "claimRef", content: y }], { cited: [y, "other"] }],
      [many.map(([, to]) => to).join(" "), [], null],
      [`untouched ${x}`, [{ content: x }], null],
    ]);
  });
});

describe("isCanonicalInstant: text bound as it stands only when a Date would format it the same", () => {
  it("holds for every toISOString of a four-digit year", () => {
    fc.assert(fc.property(fc.date({ min: new Date("0000-01-01T00:00:00.000Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }), (d) => isCanonicalInstant(d.toISOString())));
  });

  it("agrees with Date on any text of that shape: no day the calendar lacks, no 24:00, no leap day off a leap year", () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
    const text = fc
      .tuple(fc.integer({ min: 0, max: 9999 }), two(19), two(39), two(29), two(69), two(69), fc.integer({ min: 0, max: 999 }))
      .map(([y, mo, d, h, mi, s, ms]) => `${String(y).padStart(4, "0")}-${mo}-${d}T${h}:${mi}:${s}.${String(ms).padStart(3, "0")}Z`);
    fc.assert(
      fc.property(text, (s) => {
        const t = Date.parse(s);
        expect(isCanonicalInstant(s), s).toBe(!Number.isNaN(t) && new Date(t).toISOString() === s);
      }),
      { numRuns: 5000 },
    );
    for (const s of ["2024-02-29T00:00:00.000Z", "2000-02-29T12:00:00.000Z"]) expect(isCanonicalInstant(s), s).toBe(true);
    for (const s of ["2023-02-29T00:00:00.000Z", "1900-02-29T00:00:00.000Z", "2024-04-31T00:00:00.000Z", "2024-01-01T24:00:00.000Z", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000+00:00"])
      expect(isCanonicalInstant(s), s).toBe(false);
  });
});
