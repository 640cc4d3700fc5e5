// The REST compatibility routes (OpenMemory's /api/v1/backup/*, FOVEA's
// /api/export* and /api/import*), driven over real HTTP with real JSON bodies
// and real multipart bodies (FormData), on a real server and database.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:http";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isDeepStrictEqual } from "node:util";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeExport } from "../src/engine/export.js";
import { resolveExportFilter } from "../src/engine/filter.js";
import { KINDS, type KindName } from "../src/engine/kinds/index.js";
import { delegate } from "../src/engine/records.js";
import { withSnapshot } from "../src/engine/snapshot.js";
import { seedDemo } from "../src/seed/index.js";
import { parseLines, zipEntries, type Line } from "./support/archive.js";
import { fixture } from "./support/fixtures.js";
import { startTestServer, type TestServer } from "./support/server.js";

type User = { id: string; email: string; token: string };
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
type Json = Record<string, any>;

const FOVEA_TYPES = new Set([
  "metadata",
  "persona",
  "ontology",
  "entity",
  "event",
  "time",
  "entity_collection",
  "event_collection",
  "time_collection",
  "relation",
  "summary",
  "claim",
  "claim_relation",
  "annotation",
  "video",
]);
const FOVEA_KINDS: KindName[] = [
  "persona",
  "ontology",
  "worldEntity",
  "worldLocation",
  "worldEvent",
  "worldTime",
  "worldCollection",
  "worldRelation",
  "video",
  "videoSummary",
  "claim",
  "claimRelation",
  "annotation",
];
const MEMORY_KINDS: KindName[] = ["app", "category", "memory", "memoryCategory", "memoryStatus", "accessControl"];

let s: TestServer;
let alice: User; // seeded, both families
let bob: User; // seeded, smaller: proves scoping
let carol: User; // empty: OpenMemory import target
let dave: User; // empty: FOVEA cross-user import target
let eve: User; // empty: preview only
let admin: User;

const auth = (u: User | null): Record<string, string> => (u ? { authorization: `Bearer ${u.token}` } : {});

async function countsOf(userId: string, kinds: readonly KindName[] = KINDS.map((k) => k.kind)): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const kind of KINDS) if (kinds.includes(kind.kind)) out[kind.kind] = await delegate(s.rt.db, kind).count({ where: { ownerId: userId } });
  return out;
}

/** Staged uploads left behind (rows and blob files): the routes must keep none. */
async function leftovers(server: TestServer = s) {
  const dir = join(server.rt.config.dataDir, "blobs", "uploads");
  return { rows: await server.rt.db.stagedUpload.count(), files: existsSync(dir) ? readdirSync(dir) : [] };
}

/** Categories an OpenMemory export holds: those the exported memories are in. */
const linkedCategories = async (userId: string) =>
  (await s.rt.db.memoryCategory.findMany({ where: { ownerId: userId }, select: { categoryId: true }, distinct: ["categoryId"] })).length;

/** A native archive straight from the engine (what the import engine surely reads), lossless: vectors and interpolated boxes. */
async function engineExport(userId: string, format: "ZIP" | "JSONL"): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(c, _e, cb) {
      chunks.push(c as Buffer);
      cb();
    },
  });
  const filter = await resolveExportFilter(s.rt.db, userId, { includeVectors: true, includeInterpolated: true });
  await withSnapshot(s.rt.config.database, (db) => writeExport(db, { ownerId: userId, filter, format }, sink));
  return Buffer.concat(chunks);
}

function form(file: Buffer | null, filename: string, fields: Record<string, string> = {}): FormData {
  const f = new FormData();
  if (file) f.append("file", new Blob([new Uint8Array(file)]), filename);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

async function post(path: string, user: User | null, body: FormData | string, server: TestServer = s) {
  const headers: Record<string, string> = { ...auth(user) };
  if (typeof body === "string") headers["content-type"] = "application/json";
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers, body });
  return res;
}

async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

async function getText(path: string, user: User | null) {
  const res = await fetch(`${s.url}${path}`, { headers: auth(user) });
  return { res, text: await res.text() };
}

async function foveaExport(user: User, query = "", path = "/api/export") {
  const { res, text } = await getText(`${path}${query}`, user);
  expect(res.status, text).toBe(200);
  return { res, text, lines: parseLines(text) };
}

const byType = (lines: Line[]) => lines.reduce<Record<string, number>>((m, l) => ((m[l.type] = (m[l.type] ?? 0) + 1), m), {});

beforeAll(async () => {
  s = await startTestServer();
  alice = await s.user("alice@example.com");
  bob = await s.user("bob@example.com");
  carol = await s.user("carol@example.com");
  dave = await s.user("dave@example.com");
  eve = await s.user("eve@example.com");
  admin = await s.user("root@example.com", "ADMIN");
  await seedDemo(s.rt.db, { userId: alice.id, scale: 40, seed: 3 });
  await seedDemo(s.rt.db, { userId: bob.id, scale: 10, seed: 9 });
});
afterAll(() => s?.close());

// ==================================================================== OpenMemory

describe("POST /api/v1/backup/export", () => {
  const exportAs = (user: User | null, body: unknown) => post("/api/v1/backup/export", user, typeof body === "string" ? body : JSON.stringify(body));

  it("answers 401 with OpenMemory's error shape without a valid token", async () => {
    for (const user of [null, { ...alice, token: "stw_nope_nope" }]) {
      const res = await exportAs(user, { user_id: alice.email });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const body = await json(res);
      expect(body).toMatchObject({ code: "UNAUTHENTICATED" });
      expect(typeof body.detail).toBe("string");
      expect(Date.parse(body.timestamp)).not.toBeNaN();
    }
  });

  it("answers 405 to other methods, naming POST", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await fetch(`${s.url}/api/v1/backup/export`, { method, headers: auth(alice) });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
      expect(await json(res)).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
    }
  });

  it("streams OpenMemory's ZIP named after the user_id, with the keys of OpenMemory's own archive", async () => {
    const res = await exportAs(alice, { user_id: alice.email, include_vectors: false });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toContain('filename="memories_export_alice@example.com.zip"');
    const entries = await zipEntries(Buffer.from(await res.arrayBuffer()));
    expect([...entries.keys()].sort()).toEqual(["memories.json", "memories.jsonl.gz"]);
    const doc = JSON.parse(entries.get("memories.json")!.toString("utf8")) as Json;

    const ref = await zipEntries(readFileSync(fixture("openmemory", "small.zip")));
    const refDoc = JSON.parse(ref.get("memories.json")!.toString("utf8")) as Json;
    expect(Object.keys(doc)).toEqual(Object.keys(refDoc));
    expect(Object.keys(doc.user).sort()).toEqual(Object.keys(refDoc.user).sort());
    expect(Object.keys(doc.export_meta).sort()).toEqual(Object.keys(refDoc.export_meta).sort());
    expect(doc.user.email).toBe(alice.email);
    for (const section of ["apps", "categories", "memories", "memory_categories", "status_history", "access_controls"]) {
      expect(Array.isArray(doc[section]), section).toBe(true);
      if (doc[section].length && refDoc[section].length) expect(Object.keys(doc[section][0]).sort(), section).toEqual(Object.keys(refDoc[section][0]).sort());
    }
    const db = await countsOf(alice.id, MEMORY_KINDS);
    expect(db.memory).toBeGreaterThan(0);
    expect(doc.memories).toHaveLength(db.memory);
    expect(doc.apps).toHaveLength(db.app);
    expect(doc.categories).toHaveLength(await linkedCategories(alice.id));

    const logical = parseLines(gunzipSync(entries.get("memories.jsonl.gz")!).toString("utf8")) as unknown as Json[];
    const refLogical = parseLines(gunzipSync(ref.get("memories.jsonl.gz")!).toString("utf8")) as unknown as Json[];
    expect(logical).toHaveLength(db.memory);
    expect(Object.keys(logical[0]).sort()).toEqual(Object.keys(refLogical[0]).sort());
  });

  it("takes our user id for user_id too, and the viewer when user_id is left out", async () => {
    for (const body of [{ user_id: alice.id }, {}]) {
      const res = await exportAs(alice, body);
      expect(res.status).toBe(200);
      const doc = JSON.parse((await zipEntries(Buffer.from(await res.arrayBuffer()))).get("memories.json")!.toString("utf8")) as Json;
      expect(doc.user.email).toBe(alice.email);
    }
  });

  // an app whose memories in the range have no categories: memories.json must still be valid JSON
  it("applies app_id, from_date and to_date (unix seconds)", async () => {
    const app = await s.rt.db.app.findFirstOrThrow({ where: { ownerId: alice.id }, orderBy: { id: "asc" } });
    const memories = await s.rt.db.memory.findMany({ where: { ownerId: alice.id }, select: { createdAt: true, appId: true }, orderBy: { createdAt: "asc" } });
    const mid = memories[Math.floor(memories.length / 2)].createdAt;
    const from = Math.floor(mid.getTime() / 1000);
    const res = await exportAs(alice, { user_id: alice.email, app_id: app.id, from_date: from, to_date: String(from + 10 * 365 * 86400) });
    expect(res.status).toBe(200);
    const doc = JSON.parse((await zipEntries(Buffer.from(await res.arrayBuffer()))).get("memories.json")!.toString("utf8")) as Json;
    const expected = memories.filter((m) => m.appId === app.id && m.createdAt.getTime() >= from * 1000).length;
    expect(doc.memories.length).toBe(expected);
    expect(doc.memories.every((m: Json) => m.app_id === app.id)).toBe(true);
    expect(doc.export_meta).toMatchObject({ app_id_filter: app.id, from_date: from });
  });

  it("answers 403 when a user names someone else, existing or not, and 404 only to admins naming nobody", async () => {
    for (const user_id of [bob.email, bob.id, "nobody@example.com"]) {
      const res = await exportAs(alice, { user_id });
      expect(res.status, user_id).toBe(403);
      expect(await json(res)).toMatchObject({ code: "FORBIDDEN" });
    }
    const missing = await exportAs(admin, { user_id: "nobody@example.com" });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toMatchObject({ code: "NOT_FOUND" });
    const asAdmin = await exportAs(admin, { user_id: bob.email });
    expect(asAdmin.status).toBe(200);
    const doc = JSON.parse((await zipEntries(Buffer.from(await asAdmin.arrayBuffer()))).get("memories.json")!.toString("utf8")) as Json;
    expect(doc.user.email).toBe(bob.email);
  });

  it.each([
    ["not JSON", "{ user_id: ", "INVALID_JSON"],
    ["a JSON array", "[1,2]", "INVALID_BODY"],
    ["a date that is no timestamp", JSON.stringify({ from_date: "yesterday" }), "INVALID_BODY"],
    ["a fractional timestamp", JSON.stringify({ to_date: 1.5 }), "INVALID_BODY"],
    ["to_date before from_date", JSON.stringify({ from_date: 1640995200, to_date: 1609459200 }), "VALIDATION_FAILED"],
    ["an app that is not the user's", JSON.stringify({ app_id: "550e8400-e29b-41d4-a716-446655440000" }), "VALIDATION_FAILED"],
    ["a non-boolean include_vectors", JSON.stringify({ include_vectors: "maybe" }), "INVALID_BODY"],
  ])("answers 400 for %s", async (_what, body, code) => {
    const res = await exportAs(alice, body);
    expect(res.status).toBe(400);
    const answer = await json(res);
    expect(answer.code).toBe(code);
    expect(typeof answer.detail).toBe("string");
  });
});

describe("POST /api/v1/backup/import", () => {
  let native: Buffer;
  beforeAll(async () => {
    native = await engineExport(alice.id, "JSONL");
  });
  const importAs = (user: User | null, file: Buffer | null, fields: Record<string, string> = {}, query = "", filename = "backup.jsonl.gz") =>
    post(`/api/v1/backup/import${query}`, user, form(file, filename, fields));

  it("answers 401 without a token and 405 to other methods", async () => {
    const res = await importAs(null, native, { user_id: alice.email });
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ code: "UNAUTHENTICATED" });
    const get = await fetch(`${s.url}/api/v1/backup/import`, { headers: auth(alice) });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("imports into the named user and answers the counts and the history record id", async () => {
    const res = await importAs(carol, native, { user_id: carol.email, mode: "skip" });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.message).toContain(carol.email);
    expect(body).toMatchObject({ status: "SUCCEEDED", mode: "skip", cross_user: true, exporter_user_id: alice.id, user_id: carol.email });
    const db = await countsOf(alice.id, MEMORY_KINDS);
    expect(body.imported).toMatchObject({ memories: db.memory, apps: db.app, categories: await linkedCategories(alice.id), memory_categories: db.memoryCategory, status_history: db.memoryStatus });
    expect(body.counts.memory).toEqual({ create: 0, update: 0, skip: 0, remap: db.memory });
    expect(body.totals.imported).toBe(Object.values(body.counts as Record<string, Json>).reduce((a, c) => a + c.create + c.update + c.remap, 0));
    const record = await s.rt.db.importRecord.findUniqueOrThrow({ where: { id: body.import_id } });
    expect(record).toMatchObject({ requestedById: carol.id, targetUserId: carol.id, status: "SUCCEEDED", mode: "SKIP", filename: "backup.jsonl.gz" });
    expect((await countsOf(carol.id, MEMORY_KINDS)).memory).toBe(db.memory);
    expect(await leftovers()).toEqual({ rows: 0, files: [] });
  });

  it("reads mode from the query string (OpenMemory's code) and from the form (its docs); the form field wins", async () => {
    const memories = (await countsOf(alice.id, ["memory"])).memory;
    const viaQuery = await json(await importAs(alice, native, { user_id: alice.email }, "?mode=overwrite"));
    expect(viaQuery).toMatchObject({ status: "SUCCEEDED", mode: "overwrite", cross_user: false });
    expect(viaQuery.counts.memory).toMatchObject({ update: memories, skip: 0 });

    const viaForm = await json(await importAs(alice, native, { user_id: alice.email, mode: "overwrite" }));
    expect(viaForm.counts.memory).toMatchObject({ update: memories, skip: 0 });

    const formWins = await json(await importAs(alice, native, { user_id: alice.email, mode: "skip" }, "?mode=overwrite"));
    expect(formWins.mode).toBe("skip");
    expect(formWins.counts.memory).toMatchObject({ update: 0, skip: memories });
    expect((await s.rt.db.importRecord.findUniqueOrThrow({ where: { id: formWins.import_id } })).mode).toBe("SKIP");

    // user_id from the query string works too (the form is still first when it has one)
    const userFromQuery = await json(await importAs(alice, native, {}, `?user_id=${encodeURIComponent(alice.email)}`));
    expect(userFromQuery.user_id).toBe(alice.email);
  });

  it("answers 400 for a bad mode, and keeps no upload", async () => {
    const res = await importAs(alice, native, { user_id: alice.email, mode: "replace-all" });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ code: "INVALID_MODE" });
    expect(await leftovers()).toEqual({ rows: 0, files: [] });
  });

  it("answers 403 when a user names another account, 404 when an admin names nobody, and lets admins import anywhere", async () => {
    const before = await s.rt.db.importRecord.count();
    const forbidden = await importAs(bob, native, { user_id: alice.email });
    expect(forbidden.status).toBe(403);
    expect(await json(forbidden)).toMatchObject({ code: "FORBIDDEN" });
    const missing = await importAs(admin, native, { user_id: "nobody@example.com" });
    expect(missing.status).toBe(404);
    expect(await s.rt.db.importRecord.count()).toBe(before);
    expect(await leftovers()).toEqual({ rows: 0, files: [] });

    const grace = await s.user("grace@example.com");
    const asAdmin = await json(await importAs(admin, native, { user_id: grace.id, mode: "skip" }));
    expect(asAdmin.status).toBe("SUCCEEDED");
    expect(await s.rt.db.importRecord.findUniqueOrThrow({ where: { id: asAdmin.import_id } })).toMatchObject({ requestedById: admin.id, targetUserId: grace.id });
    expect((await countsOf(grace.id, ["memory"])).memory).toBe((await countsOf(alice.id, ["memory"])).memory);
  });

  it("answers 400 with the line number for a malformed line, and records the failed import", async () => {
    const lines = gunzipSync(native).toString("utf8").split("\n");
    lines[2] = "{ this is not json";
    const res = await importAs(carol, Buffer.from(lines.join("\n")), { user_id: carol.email }, "", "broken.jsonl");
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body).toMatchObject({ code: "INVALID_ARCHIVE", line: 3, status: "FAILED", problemCount: 1 });
    expect(body.detail).toMatch(/line 3/);
    expect(await s.rt.db.importRecord.findUniqueOrThrow({ where: { id: body.import_id } })).toMatchObject({ status: "FAILED", requestedById: carol.id });
  });

  it("answers 400 for an unsupported format version and for bytes that are no archive", async () => {
    const v9 = Buffer.from(JSON.stringify({ type: "metadata", data: { exporterUserId: alice.id, exportVersion: "9.0" } }) + "\n");
    const unsupported = await importAs(carol, v9, { user_id: carol.email }, "", "future.jsonl");
    expect(unsupported.status).toBe(400);
    expect(await json(unsupported)).toMatchObject({ code: "UNSUPPORTED_FORMAT_VERSION" });
    const garbage = await importAs(carol, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]), { user_id: carol.email }, "", "x.zip");
    expect(garbage.status).toBe(400);
    expect(await json(garbage)).toMatchObject({ code: "INVALID_ARCHIVE" });
    expect(await leftovers()).toEqual({ rows: 0, files: [] });
  });

  it("answers 400 without a file, and for a body that is not multipart", async () => {
    const none = await importAs(carol, null, { user_id: carol.email });
    expect(none.status).toBe(400);
    expect(await json(none)).toMatchObject({ code: "NO_FILE" });
    const notMultipart = await post("/api/v1/backup/import", carol, JSON.stringify({ user_id: carol.email }));
    expect(notMultipart.status).toBe(400);
    expect(await json(notMultipart)).toMatchObject({ code: "NOT_MULTIPART" });
  });

  // needs the OpenMemory ZIP reader of the import engine
  it("imports OpenMemory's own export (fixture small.zip) into another user", async () => {
    const res = await importAs(dave, readFileSync(fixture("openmemory", "small.zip")), { user_id: dave.email, mode: "skip" }, "", "memories_export_alice@example.com.zip");
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ status: "SUCCEEDED", format: "OPENMEMORY" });
    expect(body.imported).toMatchObject({ apps: 3, categories: 6, memories: 25, memory_categories: 31, status_history: 10 });
    expect((await countsOf(dave.id, ["memory"])).memory).toBe(25);
  });
});

// ==================================================================== FOVEA

describe("GET /api/export (FOVEA)", () => {
  it("answers 401 with a JSON error without a valid token, and 405 to other methods", async () => {
    const res = await fetch(`${s.url}/api/export`);
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ error: "Unauthorized", code: "UNAUTHENTICATED" });
    for (const [method, path] of [
      ["POST", "/api/export"],
      ["DELETE", "/api/export/stats"],
      ["GET", "/api/import"],
      ["GET", "/api/import/preview"],
      ["POST", "/api/import/history"],
    ]) {
      const r = await fetch(`${s.url}${path}`, { method, headers: auth(alice) });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get("allow")).toBe(method === "POST" || method === "DELETE" ? "GET" : "POST");
    }
    expect((await fetch(`${s.url}/api/export/nothing`, { headers: auth(alice) })).status).toBe(404);
  });

  it("writes FOVEA's lines: metadata first with exporterUserId, FOVEA's discriminators and shapes", async () => {
    const { res, lines } = await foveaExport(alice);
    expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="fovea-export-.*\.jsonl"/);
    expect(lines[0]).toMatchObject({ type: "metadata", data: { exporterUserId: alice.id, exportVersion: "1.0" } });
    expect(lines.slice(1).some((l) => l.type === "metadata")).toBe(false);
    for (const l of lines) expect(FOVEA_TYPES.has(l.type), l.type).toBe(true);

    const db = await countsOf(alice.id, FOVEA_KINDS);
    const t = byType(lines);
    expect(t.persona).toBe(db.persona);
    expect(t.ontology).toBe(db.ontology);
    expect(t.entity).toBe(db.worldEntity + db.worldLocation); // FOVEA has no location line
    expect(t.event).toBe(db.worldEvent);
    expect(t.time).toBe(db.worldTime);
    expect((t.entity_collection ?? 0) + (t.event_collection ?? 0) + (t.time_collection ?? 0)).toBe(db.worldCollection);
    expect(t.relation).toBe(db.worldRelation);
    expect(t.summary).toBe(db.videoSummary);
    expect(t.claim).toBe(db.claim);
    expect(t.claim_relation).toBe(db.claimRelation);
    expect(t.annotation).toBe(db.annotation);

    for (const l of lines) {
      const d = l.data;
      switch (l.type) {
        case "persona":
          expect(d.userId).toBe(alice.id);
          expect(d).toHaveProperty("informationNeed");
          break;
        case "ontology":
          expect(d).not.toHaveProperty("id");
          expect(d.relations).toEqual([]);
          expect(Array.isArray(d.entityTypes)).toBe(true);
          break;
        case "annotation": {
          const seq = d.boundingBoxSequence as Json;
          expect(["type", "object"]).toContain(d.annotationType);
          expect(seq.keyframeCount).toBe(seq.boxes.length);
          expect(seq.boxes.every((b: Json) => b.isKeyframe !== false)).toBe(true);
          const links = ["linkedEntityId", "linkedEventId", "linkedTimeId", "linkedLocationId"].filter((f) => f in d);
          if (d.annotationType === "object") expect(links).toHaveLength(1);
          else expect(d).toMatchObject({ typeCategory: expect.any(String), typeId: expect.any(String), personaId: expect.any(String) });
          expect(d).not.toHaveProperty("linkType");
          break;
        }
        case "entity_collection":
          expect(Array.isArray(d.entityIds)).toBe(true);
          break;
        case "event_collection":
          expect(Array.isArray(d.eventIds)).toBe(true);
          break;
        case "summary":
        case "claim":
        case "claim_relation":
        case "entity":
          expect(d).not.toHaveProperty("extra");
          expect(d).not.toHaveProperty("ownerId");
          break;
      }
    }
    // a location is an entity line carrying its locationType
    expect(lines.filter((l) => l.type === "entity" && l.data.locationType).length).toBe(db.worldLocation);
    // every link type round-trips as its own linked*Id field
    const linked = new Set(lines.filter((l) => l.type === "annotation").flatMap((l) => Object.keys(l.data).filter((k) => k.startsWith("linked"))));
    expect([...linked].sort()).toEqual(["linkedEntityId", "linkedEventId", "linkedLocationId", "linkedTimeId"]);
  });

  it("writes the exact inverse of the FOVEA import adapter, but for what FOVEA has no place for", async () => {
    const { foveaMapper } = await import("../src/engine/adapters/fovea.js");
    const { parseLine } = await import("../src/engine/archive/line-parser.js");
    const { toFoveaLine } = await import("../src/engine/archive/fovea-writer.js");
    const { selectedRecords } = await import("../src/engine/records.js");
    const filter = await resolveExportFilter(s.rt.db, alice.id, { sections: ["PERSONAS", "WORLD", "SUMMARIES", "ANNOTATIONS"], includeInterpolated: true });
    const adapt = foveaMapper();
    const differences = new Set<string>();
    let line = 0;
    const kinds = new Set<string>();
    for await (const page of selectedRecords(s.rt.db, alice.id, filter))
      for (const r of page) {
        kinds.add(r.kind.kind);
        const back = adapt(parseLine({ line: ++line, text: JSON.stringify(toFoveaLine(r.kind.kind, r.data, alice.id)) } as never));
        if (!back.ok) throw new Error(back.message);
        expect(back.type).toBe(r.kind.kind);
        for (const k of new Set([...Object.keys(r.data), ...Object.keys(back.data)]))
          if (!isDeepStrictEqual(r.data[k] ?? null, back.data[k] ?? null)) differences.add(`${r.kind.kind}.${k}`);
      }
    expect([...kinds].sort()).toEqual([...FOVEA_KINDS].sort());
    // persona.userId names the exporter (dropped on import); FOVEA's ontology has no id (one is derived from
    // the persona). A relation endpoint that is a location is an "entity" to FOVEA, read back as a location.
    for (const d of differences) expect(["persona.userId", "ontology.id"]).toContain(d);
  });

  it("format=json is a pretty JSON array of the same envelopes", async () => {
    const jsonl = (await foveaExport(alice)).lines;
    const { res, text } = await getText("/api/export?format=json", alice);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(text).toContain('\n  {\n    "type": "metadata"');
    const array = JSON.parse(text) as Line[];
    const strip = (ls: Line[]) => ls.map((l) => (l.type === "metadata" ? { ...l, data: { ...l.data, exportedAt: null } } : l));
    expect(strip(array)).toEqual(strip(jsonl));
  });

  it("filters by persona, video and annotation type, and adds interpolated boxes when asked", async () => {
    const persona = await s.rt.db.persona.findFirstOrThrow({ where: { ownerId: alice.id, annotations: { some: {} } }, orderBy: { id: "asc" } });
    const byPersona = (await foveaExport(alice, `?personaId=${persona.id}`)).lines;
    expect(byPersona.filter((l) => l.type === "persona").map((l) => l.data.id)).toEqual([persona.id]);
    const annotations = byPersona.filter((l) => l.type === "annotation");
    expect(annotations.length).toBe(await s.rt.db.annotation.count({ where: { ownerId: alice.id, personaId: persona.id } }));

    const videos = await s.rt.db.video.findMany({ where: { ownerId: alice.id }, orderBy: { id: "asc" }, take: 2 });
    const byVideo = (await foveaExport(alice, `?videoIds=${videos.map((v) => v.id).join(",")}&type=object`)).lines.filter((l) => l.type === "annotation");
    expect(byVideo.length).toBe(await s.rt.db.annotation.count({ where: { ownerId: alice.id, videoId: { in: videos.map((v) => v.id) }, annotationType: "object" } }));
    expect(byVideo.every((l) => l.data.annotationType === "object")).toBe(true);

    const boxes = (ls: Line[]) => ls.filter((l) => l.type === "annotation").reduce((n, l) => n + ((l.data.boundingBoxSequence as Json).boxes as unknown[]).length, 0);
    const keyframesOnly = boxes((await foveaExport(alice, "?annotationTypes=type,object")).lines);
    const all = (await foveaExport(alice, "?includeInterpolated=true")).lines;
    const agg = await s.rt.db.annotation.aggregate({ where: { ownerId: alice.id }, _sum: { keyframeCount: true, interpolatedFrameCount: true } });
    expect(keyframesOnly).toBe(agg._sum.keyframeCount);
    expect(boxes(all)).toBe(agg._sum.keyframeCount! + agg._sum.interpolatedFrameCount!);
  });

  it.each([
    ["someone else's persona", () => `?personaIds=${"x".repeat(8)}`],
    ["an unknown annotation type", () => "?type=polygon"],
    ["an unknown format", () => "?format=xml"],
    ["a bad boolean", () => "?includeInterpolated=maybe"],
  ])("answers 400 for %s", async (_what, query) => {
    const res = await fetch(`${s.url}/api/export${query()}`, { headers: auth(alice) });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body).toMatchObject({ error: "Bad Request" });
    expect(typeof body.message).toBe("string");
  });

  it("scopes every export to the requester: another user's persona is not found", async () => {
    const bobsPersona = await s.rt.db.persona.findFirstOrThrow({ where: { ownerId: bob.id } });
    const res = await fetch(`${s.url}/api/export?personaId=${bobsPersona.id}`, { headers: auth(alice) });
    expect(res.status).toBe(400);
    const own = (await foveaExport(bob)).lines;
    expect(own[0].data.exporterUserId).toBe(bob.id);
    expect(byType(own).persona).toBe((await countsOf(bob.id, ["persona"])).persona);
  });

  it("/api/export/personas, /world and /summaries hold their sections", async () => {
    const personas = byType((await foveaExport(alice, "", "/api/export/personas")).lines);
    expect(Object.keys(personas).sort()).toEqual(["metadata", "ontology", "persona"]);

    const world = byType((await foveaExport(alice, "", "/api/export/world")).lines);
    const db = await countsOf(alice.id, FOVEA_KINDS);
    expect(world.entity).toBe(db.worldEntity + db.worldLocation);
    expect(world.relation).toBe(db.worldRelation);
    for (const t of ["persona", "ontology", "summary", "claim", "annotation"]) expect(world[t], t).toBeUndefined();

    const summaries = byType((await foveaExport(alice, "", "/api/export/summaries")).lines);
    expect(summaries).toMatchObject({ summary: db.videoSummary, claim: db.claim, claim_relation: db.claimRelation });
    // what summaries need comes along (their personas with their ontologies, videos); nothing of the world or annotations
    for (const t of ["entity", "event", "time", "relation", "annotation"]) expect(summaries[t], t).toBeUndefined();
  });

  it("/api/export/stats answers the requester's counts and frame totals", async () => {
    for (const user of [alice, bob]) {
      const res = await fetch(`${s.url}/api/export/stats`, { headers: auth(user) });
      expect(res.status).toBe(200);
      const stats = await json(res);
      const agg = await s.rt.db.annotation.aggregate({ where: { ownerId: user.id }, _sum: { keyframeCount: true, interpolatedFrameCount: true }, _count: { _all: true } });
      expect(stats).toMatchObject({
        annotationCount: agg._count._all,
        sequenceCount: agg._count._all,
        keyframeCount: agg._sum.keyframeCount,
        interpolatedFrameCount: agg._sum.interpolatedFrameCount,
      });
      const db = await countsOf(user.id, FOVEA_KINDS);
      expect(stats.counts).toMatchObject({ personas: db.persona, claims: db.claim, annotations: db.annotation, entities: db.worldEntity });
      expect(stats.counts.memories).toBeUndefined();
      expect(stats.totalSize).toBeGreaterThan(0);
      expect(stats.totalSizeMB).toMatch(/^\d+\.\d\dMB$/);
    }
    const typeOnly = await json(await fetch(`${s.url}/api/export/stats?type=type`, { headers: auth(alice) }));
    expect(typeOnly.annotationCount).toBe(await s.rt.db.annotation.count({ where: { ownerId: alice.id, annotationType: "type" } }));
  });
});

describe("POST /api/import, /api/import/preview, GET /api/import/history (FOVEA)", () => {
  let exported: string;
  let exportedLines: Line[];
  beforeAll(async () => {
    // with the interpolated boxes: a self-import in overwrite mode below must not lose them
    const e = await foveaExport(alice, "?includeInterpolated=true");
    exported = e.text;
    exportedLines = e.lines;
  });
  const send = (path: string, user: User | null, file: Buffer | null, fields: Record<string, string> = {}, query = "", filename = "export.jsonl") =>
    post(`${path}${query}`, user, form(file, filename, fields));

  it("answers 401 without a token", async () => {
    for (const path of ["/api/import", "/api/import/preview"]) {
      const res = await send(path, null, Buffer.from(exported));
      expect(res.status).toBe(401);
      expect(await json(res)).toMatchObject({ error: "Unauthorized" });
    }
    expect((await fetch(`${s.url}/api/import/history`)).status).toBe(401);
  });

  it("preview answers the conflict report and writes nothing", async () => {
    const importsBefore = await s.rt.db.importRecord.count();
    const res = await send("/api/import/preview", eve, Buffer.from(exported));
    const body = await json(res);
    expect(res.status, JSON.stringify(body).slice(0, 500)).toBe(200);
    expect(body).toMatchObject({ format: "FOVEA", crossUser: true, exporterUserId: alice.id, mode: "skip", strict: true });
    expect(body.records).toBe(exportedLines.length - 1);
    expect(body.counts.personas).toBe(byType(exportedLines).persona);
    expect(body.kinds.annotation.remap).toBe(byType(exportedLines).annotation);
    expect(Object.values(await countsOf(eve.id)).every((n) => n === 0)).toBe(true);
    expect(await s.rt.db.importRecord.count()).toBe(importsBefore);
    expect(await leftovers()).toEqual({ rows: 0, files: [] });

    // the owner's own file: every record collides with itself
    const own = await json(await send("/api/import/preview", alice, Buffer.from(exported)));
    expect(own.crossUser).toBe(false);
    expect(own.conflictCount).toBeGreaterThan(0);
    const dup = (own.conflicts as Json[]).find((c) => c.type === "DuplicateIdConflict" && c.kind === "persona")!;
    expect(dup).toMatchObject({ originalId: dup.sourceId, existingId: dup.sourceId, resolution: "SKIP", details: expect.any(String) });
  });

  it("imports alice's FOVEA export into another user with every record accounted for", async () => {
    const res = await send("/api/import", dave, Buffer.from(exported), {}, "", "alice.jsonl");
    const body = await json(res);
    expect(res.status, JSON.stringify(body).slice(0, 800)).toBe(200);
    expect(body).toMatchObject({ success: true, status: "SUCCEEDED", format: "FOVEA", crossUser: true, exporterUserId: alice.id });
    const t = byType(exportedLines);
    const imported = body.summary.importedItems as Record<string, number>;
    expect(imported).toMatchObject({
      personas: t.persona,
      ontologies: t.ontology,
      events: t.event,
      times: t.time,
      relations: t.relation,
      summaries: t.summary,
      claims: t.claim,
      claimRelations: t.claim_relation,
      annotations: t.annotation,
      videos: t.video,
    });
    expect(imported.entities + imported.locations).toBe(t.entity);
    expect(imported.collections).toBe((t.entity_collection ?? 0) + (t.event_collection ?? 0) + (t.time_collection ?? 0));
    expect(Object.values(body.summary.skippedItems as Record<string, number>).every((n) => n === 0)).toBe(true);

    // the database agrees, kind by kind, and the frames came along
    expect(await countsOf(dave.id, FOVEA_KINDS)).toEqual(await countsOf(alice.id, FOVEA_KINDS));
    const sum = (ownerId: string) => s.rt.db.annotation.aggregate({ where: { ownerId }, _sum: { keyframeCount: true, interpolatedFrameCount: true } });
    expect((await sum(dave.id))._sum).toEqual((await sum(alice.id))._sum);
    const record = await s.rt.db.importRecord.findUniqueOrThrow({ where: { id: body.importId } });
    expect(record).toMatchObject({ requestedById: dave.id, targetUserId: dave.id, format: "FOVEA", crossUser: true, filename: "alice.jsonl" });
    expect(await leftovers()).toEqual({ rows: 0, files: [] });
  });

  it("takes mode as a form field or a query parameter (the form field wins), and FOVEA's options JSON", async () => {
    const personas = byType(exportedLines).persona;
    const viaQuery = await json(await send("/api/import", alice, Buffer.from(exported), {}, "?mode=overwrite"));
    expect(viaQuery).toMatchObject({ success: true, mode: "overwrite", crossUser: false });
    expect(viaQuery.kinds.persona).toMatchObject({ update: personas, skip: 0 });

    const formWins = await json(await send("/api/import", alice, Buffer.from(exported), { mode: "skip" }, "?mode=overwrite"));
    expect(formWins.mode).toBe("skip");
    expect(formWins.kinds.persona).toMatchObject({ update: 0, skip: personas });

    const viaOptions = await json(await send("/api/import", alice, Buffer.from(exported), { options: JSON.stringify({ conflictResolution: { duplicateIds: "overwrite" } }) }));
    expect(viaOptions.mode).toBe("overwrite");
    expect(viaOptions.kinds.persona).toMatchObject({ update: personas });
  });

  it("answers 400 for a malformed line (with its number), a bad mode, bad options, no file", async () => {
    const lines = exported.split("\n");
    lines[4] = '{"type":"persona","data":';
    const broken = await send("/api/import", eve, Buffer.from(lines.join("\n")));
    expect(broken.status).toBe(400);
    const body = await json(broken);
    expect(body).toMatchObject({ error: "Bad Request", code: "INVALID_ARCHIVE", line: 5, success: false, problemCount: 1 });
    expect(body.problemGroups).toEqual([{ kind: null, message: "not valid JSON", count: 1, lines: [5] }]);
    expect(body.message).toMatch(/line 5/);
    expect(await s.rt.db.importRecord.findUniqueOrThrow({ where: { id: body.importId } })).toMatchObject({ status: "FAILED", requestedById: eve.id });
    // the preview says the same, and records nothing
    const preview = await send("/api/import/preview", eve, Buffer.from(lines.join("\n")));
    expect(preview.status).toBe(400);
    expect(await json(preview)).toMatchObject({ line: 5 });
    // lenient, it previews what it would skip
    const lenient = await json(await send("/api/import/preview", eve, Buffer.from(lines.join("\n")), { strict: "false" }));
    expect(lenient).toMatchObject({ problemCount: 1, problemGroups: [{ kind: null, message: "not valid JSON", count: 1, lines: [5] }] });

    for (const [fields, query] of [[{ mode: "merge" }, ""], [{}, "?mode=merge"], [{ strict: "perhaps" }, ""], [{ options: "{not json" }, ""], [{ resolutions: '[{"resolution":"SKIP"}]' }, ""]] as const) {
      const res = await send("/api/import", eve, Buffer.from(exported), fields, query);
      expect(res.status, JSON.stringify(fields) + query).toBe(400);
    }
    const none = await send("/api/import", eve, null, { mode: "skip" });
    expect(none.status).toBe(400);
    expect(await json(none)).toMatchObject({ code: "NO_FILE" });
    expect(Object.values(await countsOf(eve.id)).every((n) => n === 0)).toBe(true);
    expect(await leftovers()).toEqual({ rows: 0, files: [] });
  });

  it("imports FOVEA's own export (fixture) through the route", async () => {
    const res = await send("/api/import", carol, readFileSync(fixture("fovea", "cross-user-import-real-export.jsonl")), {}, "", "real.jsonl");
    const body = await json(res);
    expect(res.status, JSON.stringify(body).slice(0, 800)).toBe(200);
    expect(body).toMatchObject({ success: true, format: "FOVEA", crossUser: true });
    expect(body.summary.importedItems).toMatchObject({ personas: 1, ontologies: 1, entities: 1, summaries: 1, claims: 2, annotations: 1 });
  });

  it("history lists the requester's imports only, newest first, with limit and offset", async () => {
    for (const user of [alice, dave, eve, carol]) {
      const res = await fetch(`${s.url}/api/import/history`, { headers: auth(user) });
      expect(res.status).toBe(200);
      const body = await json(res);
      const mine = await s.rt.db.importRecord.findMany({ where: { requestedById: user.id }, orderBy: [{ startedAt: "desc" }, { id: "desc" }] });
      expect(body.total).toBe(mine.length);
      expect((body.imports as Json[]).map((i) => i.id)).toEqual(mine.map((r) => r.id));
    }
    const daves = await json(await fetch(`${s.url}/api/import/history`, { headers: auth(dave) }));
    const alices = await s.rt.db.importRecord.findMany({ where: { requestedById: alice.id }, select: { id: true } });
    expect(alices.length).toBeGreaterThan(0);
    expect((daves.imports as Json[]).some((i) => alices.some((a) => a.id === i.id))).toBe(false);
    const fromAlice = (daves.imports as Json[]).find((i) => i.filename === "alice.jsonl")!;
    expect(fromAlice).toMatchObject({ success: true, status: "SUCCEEDED", format: "FOVEA", crossUser: true, itemsSkipped: 0 });
    expect(fromAlice.itemsImported).toBe(exportedLines.length - 1);
    // every record of alice's file was someone else's: its conflicts, by kind
    expect(fromAlice.conflictCount).toBe(exportedLines.length - 1);
    expect((fromAlice.conflictGroups as Json[]).reduce((n, g) => n + (g.count as number), 0)).toBe(fromAlice.conflictCount);
    expect((fromAlice.conflictGroups as Json[]).every((g) => g.type === "ForeignRecordConflict" && g.resolution === "CREATE_NEW")).toBe(true);
    // a failed import keeps its typed error, said as the import's own 400 said it
    const eves = await json(await fetch(`${s.url}/api/import/history`, { headers: auth(eve) }));
    const broken = (eves.imports as Json[]).find((i) => i.status === "FAILED")!;
    expect(broken).toMatchObject({ success: false, error: expect.stringMatching(/line 5/) });
    expect(broken.failure).toEqual({ code: "INVALID_ARCHIVE", message: broken.error, line: 5, problemCount: 1, problemGroups: [{ kind: null, message: "not valid JSON", count: 1, lines: [5] }] });

    const page = await json(await fetch(`${s.url}/api/import/history?limit=1&offset=1`, { headers: auth(alice) }));
    expect(page.imports).toHaveLength(1);
    expect(page.imports[0].id).toBe((await s.rt.db.importRecord.findMany({ where: { requestedById: alice.id }, orderBy: [{ startedAt: "desc" }, { id: "desc" }], skip: 1, take: 1 }))[0].id);
    for (const q of ["?limit=0", "?limit=101", "?offset=-1", "?limit=ten"]) expect((await fetch(`${s.url}/api/import/history${q}`, { headers: auth(alice) })).status, q).toBe(400);
  });
});

// ==================================================================== limits

describe("uploads over the size limit (413)", () => {
  const LIMIT = 64 * 1024;
  let t: TestServer;
  let user: User;
  beforeAll(async () => {
    t = await startTestServer({ MAX_UPLOAD_BYTES: String(LIMIT) });
    user = await t.user("frank@example.com");
  });
  afterAll(() => t?.close());

  const big = (n: number) => {
    const b = Buffer.alloc(n, "\n");
    Buffer.from('{"type":"metadata","data":{}}\n').copy(b);
    return b;
  };

  it.each([
    ["/api/import", {}],
    ["/api/import/preview", {}],
    ["/api/v1/backup/import", { user_id: "frank@example.com" }],
  ])("%s refuses a file past MAX_UPLOAD_BYTES with 413 and keeps nothing", async (path, fields) => {
    for (const size of [LIMIT + 1, 200 * 1024, 3 * 1024 ** 2]) {
      const res = await post(path, user, form(big(size), "big.jsonl", fields), t);
      expect(res.status, `${size} bytes`).toBe(413);
      const body = await json(res);
      expect(body).toMatchObject({ code: "UPLOAD_TOO_LARGE", maxBytes: LIMIT });
      expect(await leftovers(t)).toEqual({ rows: 0, files: [] });
      expect(await t.rt.db.importRecord.count()).toBe(0);
    }
    // a file of exactly the limit is fine
    const ok = await post(path, user, form(big(LIMIT), "edge.jsonl", fields), t);
    expect(ok.status).toBe(200);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    await t.rt.db.importRecord.deleteMany({});
  });

  it("refuses a chunked upload (no Content-Length) that runs past the limit, and stays healthy", async () => {
    const boundary = "----stowage-rest-test";
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="endless.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    async function* body() {
      yield Buffer.from(head + '{"type":"metadata","data":{}}\n');
      for (let i = 0; i < 200; i++) yield Buffer.alloc(16 * 1024, "\n"); // 3.2 MiB
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    }
    const url = new URL(`${t.url}/api/import`);
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}`, ...auth(user) } });
    const answer = new Promise<{ status: number; body: Json }>((resolve, reject) => {
      req.on("error", reject);
      req.on("response", (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString("utf8")) as Json }));
      });
    });
    // the server may answer before it has read the whole body; the answer is what counts
    await pipeline(Readable.from(body()), req).catch(() => {});
    const r = await answer;
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: "UPLOAD_TOO_LARGE", maxBytes: LIMIT });
    expect(await leftovers(t)).toEqual({ rows: 0, files: [] });
    expect((await fetch(`${t.url}/api/import/history`, { headers: auth(user) })).status).toBe(200);
  });
});

// ==================================================================== every fixture through the routes

describe("every real archive through its own system's import route", () => {
  it.each(["small", "second_user", "medium"])("OpenMemory %s.zip via POST /api/v1/backup/import, counts as its facts file says", async (name) => {
    const user = await s.user(`om-rest-${name}@example.com`);
    const facts = JSON.parse(readFileSync(fixture("openmemory", `${name}.facts.json`), "utf8")) as { memories_json: { counts: Record<string, number> } };
    const res = await post("/api/v1/backup/import?mode=skip", user, form(readFileSync(fixture("openmemory", `${name}.zip`)), `${name}.zip`, { user_id: user.email }));
    const body = await json(res);
    expect(res.status, JSON.stringify(body).slice(0, 500)).toBe(200);
    const c = facts.memories_json.counts;
    expect(body.imported).toMatchObject({ apps: c.apps, categories: c.categories, memories: c.memories, memory_categories: c.memory_categories, status_history: c.status_history });
    expect(await s.rt.db.memory.count({ where: { ownerId: user.id } })).toBe(c.memories);
    expect(await s.rt.db.accessControl.count({ where: { ownerId: user.id } })).toBe(c.access_controls);
  }, 240_000);

  it.each([
    ["cross-user-import-real-export.jsonl", { personas: 1, ontologies: 1, entities: 1, summaries: 1, claims: 2, annotations: 1 }],
    ["akeil-issue-121.jsonl", { personas: 4, ontologies: 4, entities: 33, summaries: 48, claims: 60, annotations: 50 }],
    ["microvent-seed.jsonl", { personas: 4, ontologies: 4, entities: 6, summaries: 13, claims: 97 }],
    ["cross-user-import-rich-export.jsonl", { personas: 20, ontologies: 20, entities: 79, summaries: 136, claims: 621, annotations: 9 }],
  ])("FOVEA %s via POST /api/import, counts as the fixtures' README says", async (file, counts) => {
    const user = await s.user(`fovea-rest-${file.split(".")[0]}@example.com`);
    const res = await post("/api/import", user, form(readFileSync(fixture("fovea", file)), file));
    const body = await json(res);
    expect(res.status, JSON.stringify(body).slice(0, 500)).toBe(200);
    expect(body).toMatchObject({ success: true, format: "FOVEA", crossUser: true });
    expect(body.summary.importedItems).toMatchObject(counts);
    expect(await s.rt.db.claim.count({ where: { ownerId: user.id } })).toBe(counts.claims);
  }, 240_000);
});
