import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../src/seed/index.js";
import { countsOf, exportArchive, HistoryDoc as History, ImportDoc as Import, jsonl, jsonlAsWritten, PreviewDoc as Preview, StageDoc as Stage } from "./support/client.js";
import { subscribe } from "./support/sse.js";
import type { ConflictResolutionInput, ImportOptions } from "./gql/graphql.js";
import { readNative, type Line } from "./support/archive.js";
import { until } from "./support/poll.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { graphql } from "./gql/index.js";
import { MAX_PROBLEMS } from "../src/engine/import/plan.js";
import { KEPT_PROBLEMS } from "../src/engine/import/history.js";







let s: TestServer;
let alice: { id: string; token: string };
let aliceZip: Buffer;
let aliceLines: Line[];

const exportZip = (token: string) => exportArchive(s, token, "ZIP");


async function stage(token: string, bytes: Buffer, name = "backup.zip") {
  const r = await s.upload(Stage, { file: null as never }, { file: { name, bytes } }, token);
  const staged = r.data!.stageUpload;
  if (staged.__typename !== "StagedUpload") throw new Error(`stage refused: ${JSON.stringify(r)}`);
  return staged.id;
}

async function preview(token: string, uploadId: string, options: ImportOptions = {}) {
  const r = await s.gql(Preview, { uploadId, options }, token);
  return r.data!.previewImport;
}

async function importIt(token: string, uploadId: string, options: Omit<ImportOptions, "targetUserId"> & { targetUserId?: string } = {}) {
  const r = await s.gql(Import, { input: { uploadId, ...options } }, token);
  return r.data!.importBackup;
}


beforeAll(async () => {
  s = await startTestServer();
  alice = await s.user("alice@example.com");
  await seedDemo(s.rt.db, { userId: alice.id, scale: 600, seed: 11 });
  aliceZip = await exportZip(alice.token);
  aliceLines = (await readNative(aliceZip)).lines;
});
afterAll(() => s.close());

describe("importBackup through multipart HTTP", () => {
  it("imports another user's archive under new ids, exactly as previewed, and keeps it in history", async () => {
    const bob = await s.user("bob@example.com");
    const uploadId = await stage(bob.token, aliceZip);
    const p = await preview(bob.token, uploadId);
    expect(p.__typename).toBe("ImportPreview");
    if (p.__typename !== "ImportPreview") return;
    expect(p.format).toBe("ZIP");
    expect(p.exporter).toEqual({ userId: alice.id, crossUser: true });
    expect(p.conflicts.edges.every((e) => e.node.__typename === "ForeignRecordConflict")).toBe(true);

    const r = await importIt(bob.token, uploadId);
    expect(r.__typename).toBe("ImportBackupSuccess");
    if (r.__typename !== "ImportBackupSuccess") return;
    expect(countsOf(r.record.counts)).toEqual(countsOf(p.counts));
    expect(r.record).toMatchObject({ status: "SUCCEEDED", crossUser: true, exporterUserId: alice.id, format: "ZIP" });
    // every record of someone else's file is a ForeignRecordConflict
    expect(r.record).toMatchObject({ recordCount: aliceLines.length - 1, conflictCount: p.conflictCount });
    expect(p.conflictCount).toBe(aliceLines.length - 1);
    // and the groups say so in a line a kind, every record counted
    const byKind = new Map<string, number[]>();
    aliceLines.forEach((l, i) => l.type !== "metadata" && (byKind.get(l.type) ?? byKind.set(l.type, []).get(l.type)!).push(i + 1));
    expect(new Set(p.conflictGroups.map((g) => g.kind))).toEqual(new Set(byKind.keys()));
    for (const g of p.conflictGroups) expect(g).toEqual({ type: "ForeignRecordConflict", kind: g.kind, resolution: "CREATE_NEW", count: byKind.get(g.kind)!.length, lines: byKind.get(g.kind)!.slice(0, 20) });
    expect(p.conflictGroups.map((g) => g.count)).toEqual([...p.conflictGroups.map((g) => g.count)].sort((a, b) => b - a));
    // the import resolved exactly those, and its record keeps them
    expect(r.record.conflictGroups).toEqual(p.conflictGroups);
    // the database holds what the counts say
    expect(await s.rt.db.memory.count({ where: { ownerId: bob.id } })).toBe(aliceLines.filter((l) => l.type === "memory").length);
    const bobZip = (await readNative(await exportZip(bob.token))).lines;
    const aliceIds = new Set(aliceLines.slice(1).map((l) => l.data.id as string));
    expect(bobZip.slice(1).filter((l) => aliceIds.has(l.data.id as string))).toEqual([]);
    // nor anywhere inside them: claims citing claims later in the file were rewritten once those had their ids
    const bobText = JSON.stringify(bobZip.slice(1));
    expect([...aliceIds].filter((id) => bobText.includes(id))).toEqual([]);

    const h = await s.gql(History, {}, bob.token);
    expect(h.data!.importHistory.edges[0].node).toMatchObject({ id: r.record.id, status: "SUCCEEDED", filename: "backup.zip" });

    // the same archive again: the records it made are found (their new ids derive from the old), nothing doubles
    const again = await importIt(bob.token, uploadId);
    if (again.__typename !== "ImportBackupSuccess") throw new Error(again.__typename);
    for (const c of again.record.counts) expect(c).toMatchObject({ create: 0, update: 0, remap: 0 });
    expect(await s.rt.db.memory.count({ where: { ownerId: bob.id } })).toBe(aliceLines.filter((l) => l.type === "memory").length);
    // alice sees none of bob's history
    const ah = await s.gql(History, {}, alice.token);
    expect(ah.data!.importHistory.edges.map((e) => e.node.id)).not.toContain(r.record.id);
  });

  it("takes the file directly in the mutation too (no staging)", async () => {
    const carol = await s.user("carol@example.com");
    const r = await s.upload(Import, { input: { file: null as never } }, { "input.file": { name: "direct.zip", bytes: aliceZip } }, carol.token);
    expect(r.data!.importBackup.__typename).toBe("ImportBackupSuccess");
    expect(await s.rt.db.persona.count({ where: { ownerId: carol.id } })).toBe(aliceLines.filter((l) => l.type === "persona").length);
  });

  it("re-importing your own archive in SKIP mode changes nothing; OVERWRITE restores; CREATE_NEW copies", async () => {
    const uploadId = await stage(alice.token, aliceZip);
    const p = await preview(alice.token, uploadId);
    if (p.__typename !== "ImportPreview") throw new Error(p.__typename);
    expect(p.exporter.crossUser).toBe(false);
    expect(p.conflicts.edges.every((e) => e.node.__typename === "DuplicateIdConflict" && e.node.resolution === "SKIP")).toBe(true);
    const before = await s.rt.db.memory.count({ where: { ownerId: alice.id } });
    const r = await importIt(alice.token, uploadId);
    if (r.__typename !== "ImportBackupSuccess") throw new Error(r.__typename);
    for (const c of r.record.counts) expect(c).toMatchObject({ create: 0, update: 0, remap: 0 });
    expect(await s.rt.db.memory.count({ where: { ownerId: alice.id } })).toBe(before);

    const m = await s.rt.db.memory.findFirstOrThrow({ where: { ownerId: alice.id }, orderBy: { id: "asc" } });
    await s.rt.db.memory.update({ where: { id: m.id }, data: { content: "edited" } });
    const o = await importIt(alice.token, uploadId, { mode: "OVERWRITE" });
    if (o.__typename !== "ImportBackupSuccess") throw new Error(o.__typename);
    expect((await s.rt.db.memory.findUniqueOrThrow({ where: { id: m.id } })).content).toBe(m.content);

    // CREATE_NEW for the memories: copies under new ids (with their links), apps stay as they are
    const c = await importIt(alice.token, uploadId, { resolutions: [{ kind: "memory", resolution: "CREATE_NEW" }] });
    if (c.__typename !== "ImportBackupSuccess") throw new Error(c.__typename);
    const counts = countsOf(c.record.counts);
    expect(counts.memory.remap).toBe(before);
    expect(counts.app.skip).toBe(aliceLines.filter((l) => l.type === "app").length);
    expect(await s.rt.db.memory.count({ where: { ownerId: alice.id } })).toBe(before * 2);
  });
});

describe("conflicts and resolutions", () => {
  let dave: { id: string; token: string };
  let existingApp: { id: string; name: string };
  const newAppId = "7d1f3a52-1111-4c6e-9f41-000000000001";
  const memId = "7d1f3a52-2222-4c6e-9f41-000000000002";
  const file = () =>
    jsonl([
      { type: "metadata", data: { exporterUserId: dave.id, exportVersion: "1" } },
      { type: "app", data: { id: newAppId, name: existingApp.name, isActive: true, createdAt: "2024-01-01T00:00:00.000Z", updatedAt: "2024-01-01T00:00:00.000Z" } },
      { type: "memory", data: { id: memId, appId: newAppId, content: "from the file", state: "active", createdAt: "2024-01-02T00:00:00.000Z", updatedAt: "2024-01-02T00:00:00.000Z" } },
    ]);

  beforeAll(async () => {
    dave = await s.user("dave@example.com");
    existingApp = await s.rt.db.app.create({ data: { ownerId: dave.id, name: "cursor", description: "mine" } });
  });

  async function run(resolutions: ConflictResolutionInput[]) {
    const uploadId = await stage(dave.token, file(), "nk.jsonl");
    const p = await preview(dave.token, uploadId, { resolutions });
    if (p.__typename !== "ImportPreview") throw new Error(JSON.stringify(p));
    const r = await importIt(dave.token, uploadId, { resolutions });
    if (r.__typename !== "ImportBackupSuccess") throw new Error(JSON.stringify(r));
    expect(countsOf(r.record.counts)).toEqual(countsOf(p.counts));
    return { p, r };
  }

  afterEach(async () => {
    await s.rt.db.memory.deleteMany({ where: { ownerId: dave.id } });
    await s.rt.db.app.deleteMany({ where: { ownerId: dave.id, id: { not: existingApp.id } } });
    await s.rt.db.app.update({ where: { id: existingApp.id }, data: { description: "mine", name: "cursor" } });
  });

  it("NaturalKeyConflict → MERGE (default): the memory joins the existing app", async () => {
    const { p } = await run([]);
    const c = p.conflicts.edges.map((e) => e.node).find((n) => n.__typename === "NaturalKeyConflict");
    expect(c).toMatchObject({ kind: "app", line: 2, sourceId: newAppId, existingId: existingApp.id, suggestedResolution: "MERGE", resolution: "MERGE" });
    expect(c && "allowedResolutions" in c ? c.allowedResolutions : []).toEqual(["MERGE", "OVERWRITE", "RENAME", "SKIP"]);
    expect((await s.rt.db.memory.findUniqueOrThrow({ where: { id: memId } })).appId).toBe(existingApp.id);
    expect(await s.rt.db.app.count({ where: { ownerId: dave.id } })).toBe(1);
  });

  it("NaturalKeyConflict → OVERWRITE: the existing app takes the file's values, keeps its id", async () => {
    await run([{ kind: "app", resolution: "OVERWRITE" }]);
    const app = await s.rt.db.app.findUniqueOrThrow({ where: { id: existingApp.id } });
    expect(app.description).toBeNull();
    expect((await s.rt.db.memory.findUniqueOrThrow({ where: { id: memId } })).appId).toBe(existingApp.id);
  });

  it("NaturalKeyConflict → RENAME: a second app under a new name", async () => {
    const { p } = await run([{ kind: "app", resolution: "RENAME" }]);
    const conflictId = p.conflicts.edges[0].node.__typename === "NaturalKeyConflict" ? p.conflicts.edges[0].node.id : "";
    expect(conflictId).toBeTruthy();
    const apps = await s.rt.db.app.findMany({ where: { ownerId: dave.id }, orderBy: { name: "asc" } });
    expect(apps.map((a) => a.name)).toEqual(["cursor", "cursor (imported)"]);
    expect((await s.rt.db.memory.findUniqueOrThrow({ where: { id: memId } })).appId).toBe(newAppId);
  });

  it("NaturalKeyConflict → SKIP (by conflict id): the app is not imported, nor what needs it", async () => {
    const uploadId = await stage(dave.token, file(), "nk.jsonl");
    const p = await preview(dave.token, uploadId);
    if (p.__typename !== "ImportPreview") throw new Error(p.__typename);
    const conflict = p.conflicts.edges.find((e) => e.node.__typename === "NaturalKeyConflict")!.node;
    const id = "id" in conflict ? conflict.id : "";
    const { r } = await run([{ conflictId: id, resolution: "SKIP" }]);
    if (r.__typename !== "ImportBackupSuccess") return;
    expect(countsOf(r.record.counts)).toMatchObject({ app: { skip: 1 }, memory: { skip: 1 } });
    expect(await s.rt.db.memory.count({ where: { ownerId: dave.id } })).toBe(0);
  });

  it("a resolution a conflict does not allow is a ValidationError", async () => {
    const uploadId = await stage(dave.token, file(), "nk.jsonl");
    const p = await preview(dave.token, uploadId);
    if (p.__typename !== "ImportPreview") throw new Error(p.__typename);
    const id = p.conflicts.edges.map((e) => e.node).find((n) => n.__typename === "NaturalKeyConflict");
    const r = await importIt(dave.token, uploadId, { resolutions: [{ conflictId: id && "id" in id ? id.id : "", resolution: "CREATE_PLACEHOLDER" }] });
    expect(r.__typename).toBe("ValidationError");
  });

  describe("MissingReferenceConflict", () => {
    const missing = "7d1f3a52-3333-4c6e-9f41-000000000003";
    const orphan = () =>
      jsonl([
        { type: "metadata", data: { exporterUserId: dave.id, exportVersion: "1" } },
        { type: "memory", data: { id: memId, appId: missing, content: "orphan", state: "paused", createdAt: "2024-01-02T00:00:00.000Z", updatedAt: "2024-01-02T00:00:00.000Z" } },
      ]);

    it("SKIP_RECORD (default) skips the record", async () => {
      const uploadId = await stage(dave.token, orphan(), "m.jsonl");
      const p = await preview(dave.token, uploadId);
      if (p.__typename !== "ImportPreview") throw new Error(p.__typename);
      expect(p.conflicts.edges[0].node).toMatchObject({ __typename: "MissingReferenceConflict", field: "appId", referencedKind: "app", referencedId: missing, resolution: "SKIP_RECORD", line: 2 });
      const r = await importIt(dave.token, uploadId);
      if (r.__typename !== "ImportBackupSuccess") throw new Error(r.__typename);
      expect(countsOf(r.record.counts).memory).toMatchObject({ skip: 1, create: 0 });
      expect(await s.rt.db.memory.count({ where: { ownerId: dave.id } })).toBe(0);
    });

    it("CREATE_PLACEHOLDER creates a stand-in app and the memory", async () => {
      const uploadId = await stage(dave.token, orphan(), "m.jsonl");
      const r = await importIt(dave.token, uploadId, { resolutions: [{ kind: "memory", resolution: "CREATE_PLACEHOLDER" }] });
      if (r.__typename !== "ImportBackupSuccess") throw new Error(JSON.stringify(r));
      expect(countsOf(r.record.counts)).toMatchObject({ app: { create: 1 }, memory: { create: 1 } });
      const m = await s.rt.db.memory.findUniqueOrThrow({ where: { id: memId }, include: { app: true } });
      expect(m.app).toMatchObject({ id: missing, ownerId: dave.id });
    });

    it("FAIL fails the import, changes nothing, and the history says why", async () => {
      const uploadId = await stage(dave.token, orphan(), "m.jsonl");
      const r = await importIt(dave.token, uploadId, { resolutions: [{ kind: "memory", resolution: "FAIL" }] });
      expect(r).toMatchObject({ __typename: "InvalidArchiveError", line: 2 });
      expect(await s.rt.db.memory.count({ where: { ownerId: dave.id } })).toBe(0);
      const h = await s.gql(History, {}, dave.token);
      expect(h.data!.importHistory.edges[0].node).toMatchObject({
        status: "FAILED",
        filename: "m.jsonl",
        recordCount: null,
        conflictCount: null,
        failure: { __typename: "InvalidArchiveError", code: "INVALID_ARCHIVE", line: 2 },
      });
      expect(h.data!.importHistory.edges[0].node.error).toContain("line 2");
    });
  });
});

describe("bad input", () => {
  it("names the line of every malformed line and imports nothing (strict)", async () => {
    const erin = await s.user("erin@example.com");
    const lines = aliceLines.slice(0, 40).map((l) => JSON.stringify(l));
    lines[9] = "{ not json";
    lines[19] = JSON.stringify({ type: "memory", data: { id: "x" } });
    // starts like a line of ours (the first look reads only that far), breaks later
    lines[29] = '{"type":"memory","data":{"id":"broken-later","content": }}';
    // an id given twice: the first look and JSON.parse would disagree on which record this is
    lines[34] = lines[34].replace('"data":{"id":"', '"data":{"id":"decoy","id":"');
    const uploadId = await stage(erin.token, gzipSync(Buffer.from(lines.join("\r\n"))), "bad.jsonl.gz");
    const p = await preview(erin.token, uploadId);
    expect(p).toMatchObject({ __typename: "InvalidArchiveError", line: 10 });
    if (p.__typename === "InvalidArchiveError") expect(p.problems.map((x) => x.line)).toEqual([10, 20, 30, 35]);
    const r = await importIt(erin.token, uploadId);
    expect(r.__typename).toBe("InvalidArchiveError");
    expect(await s.rt.db.app.count({ where: { ownerId: erin.id } })).toBe(0);

    // lenient: the bad lines are skipped with warnings naming them
    const lenient = await preview(erin.token, uploadId, { strict: false });
    if (lenient.__typename !== "ImportPreview") throw new Error(lenient.__typename);
    expect(lenient.warnings.filter((w) => /^line (10|20|30|35)\b/.test(w))).toHaveLength(4);
  });

  it("counts every malformed line and groups them by fault, however many there are", async () => {
    const ruth = await s.user("ruth@example.com");
    const [meta, ...records] = aliceLines;
    const app = records.find((l) => l.type === "app")!;
    const lines: unknown[] = [meta, app];
    // 700 memories without their app, 3 lines of broken JSON (each its own token), one id given twice
    for (let i = 0; i < 700; i++) lines.push({ type: "memory", data: { id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, content: "x", state: "active" } });
    lines.splice(100, 0, "{ not json");
    lines.splice(400, 0, "[1, 2");
    lines.push("nope", app);
    // the same fault at two indexes of a list
    const collection = records.find((l) => l.type === "worldCollection")!;
    lines.push(...[[7], ["a", "b", 8]].map((members) => ({ ...collection, data: { ...collection.data, id: randomUUID(), members } })));
    const uploadId = await stage(ruth.token, jsonlAsWritten(lines), "many-bad.jsonl");
    const p = await preview(ruth.token, uploadId);
    if (p.__typename !== "InvalidArchiveError") throw new Error(p.__typename);
    expect(p.problemCount).toBe(706);
    expect(p.message).toMatch(/^706 malformed lines; the first is line 3 \(memory\)/);
    expect(p.problems).toHaveLength(MAX_PROBLEMS);
    const memoryLines = lines.flatMap((l, i) => (typeof l === "object" && (l as { type: string }).type === "memory" ? [i + 1] : []));
    const groups = [
      { kind: "memory", message: "appId: Invalid input: expected string, received undefined", count: 700, lines: memoryLines.slice(0, 20) },
      { kind: null, message: "not valid JSON", count: 3, lines: [101, 401, lines.length - 3] },
      { kind: "worldCollection", message: "members.*: Invalid input: expected string, received number", count: 2, lines: [lines.length - 1, lines.length] },
      { kind: "app", message: "its id appears on an earlier line", count: 1, lines: [lines.length - 2] },
    ];
    expect(p.problemGroups).toEqual(groups);
    expect(await s.rt.db.memory.count({ where: { ownerId: ruth.id } })).toBe(0);
    // lenient: the same lines, skipped, and said the same way
    const lenient = await preview(ruth.token, uploadId, { strict: false });
    if (lenient.__typename !== "ImportPreview") throw new Error(lenient.__typename);
    expect(lenient).toMatchObject({ problemCount: 706, problemGroups: groups, records: 1 });
    // the strict import fails, and its history keeps the same typed error
    const r = await importIt(ruth.token, uploadId);
    if (r.__typename !== "InvalidArchiveError") throw new Error(r.__typename);
    const h = await s.gql(History, {}, ruth.token);
    const failure = h.data!.importHistory.edges[0].node.failure;
    if (failure?.__typename !== "InvalidArchiveError") throw new Error(JSON.stringify(failure));
    expect(failure).toMatchObject({ code: "INVALID_ARCHIVE", message: r.message, line: r.line, problemCount: 706, problemGroups: groups });
    expect(failure.problems).toEqual(r.problems.slice(0, KEPT_PROBLEMS));
  });

  it("refuses an archive of an unknown major version", async () => {
    const frank = await s.user("frank@example.com");
    const uploadId = await stage(frank.token, jsonl([{ type: "metadata", data: { exporterUserId: frank.id, exportVersion: "2" } }]), "v2.jsonl");
    const p = await preview(frank.token, uploadId);
    expect(p.__typename).toBe("UnsupportedFormatVersionError");
    expect((await importIt(frank.token, uploadId)).__typename).toBe("UnsupportedFormatVersionError");
    const h = await s.gql(History, {}, frank.token);
    expect(h.data!.importHistory.edges[0].node).toMatchObject({
      status: "FAILED",
      failure: { __typename: "UnsupportedFormatVersionError", code: "UNSUPPORTED_FORMAT_VERSION", version: "2" },
    });
  });

  it("another user's staged upload reads as unknown", async () => {
    const uploadId = await stage(alice.token, aliceZip);
    const mallory = await s.user("mallory@example.com");
    expect((await preview(mallory.token, uploadId)).__typename).toBe("NotFoundError");
    expect((await importIt(mallory.token, uploadId)).__typename).toBe("NotFoundError");
  });

  it("only admins import into another account", async () => {
    const grace = await s.user("grace@example.com");
    const uploadId = await stage(grace.token, aliceZip);
    expect((await importIt(grace.token, uploadId, { targetUserId: alice.id })).__typename).toBe("ForbiddenError");
    const admin = await s.user("admin@example.com", "ADMIN");
    const adminUpload = await stage(admin.token, aliceZip);
    const r = await importIt(admin.token, adminUpload, { targetUserId: grace.id });
    expect(r.__typename).toBe("ImportBackupSuccess");
    expect(await s.rt.db.memory.count({ where: { ownerId: grace.id } })).toBe(aliceLines.filter((l) => l.type === "memory").length);
  });
});

describe("concurrency", () => {
  it("two imports at once both land, whole", async () => {
    const [u1, u2] = [await s.user("p1@example.com"), await s.user("p2@example.com")];
    const [a, b] = [await stage(u1.token, aliceZip), await stage(u2.token, aliceZip)];
    const [r1, r2] = await Promise.all([importIt(u1.token, a), importIt(u2.token, b)]);
    expect([r1.__typename, r2.__typename]).toEqual(["ImportBackupSuccess", "ImportBackupSuccess"]);
    const n = aliceLines.filter((l) => l.type === "claim").length;
    expect(await s.rt.db.claim.count({ where: { ownerId: u1.id } })).toBe(n);
    expect(await s.rt.db.claim.count({ where: { ownerId: u2.id } })).toBe(n);
  });
});

const FollowImport = graphql(`
  subscription ImportProgress($id: ID!) {
    importProgress(id: $id) {
      id
      status
      recordsWritten
      recordsTotal
    }
  }
`);

describe("importProgress subscription (SSE)", () => {
  it("follows an import by its staged upload, to the end", async () => {
    const ivan = await s.user("ivan@example.com");
    const uploadId = await stage(ivan.token, aliceZip);
    const stream = await subscribe(s.url, ivan.token, FollowImport, { id: uploadId });
    const r = await importIt(ivan.token, uploadId);
    if (r.__typename !== "ImportBackupSuccess") throw new Error(r.__typename);
    const { events, errors } = await stream.rest();
    expect(errors).toEqual([]);
    const last = events.at(-1)!.importProgress;
    expect(last).toMatchObject({ id: r.record.id, status: "SUCCEEDED" });
    expect(last.recordsWritten).toBe(last.recordsTotal);
    expect(last.recordsTotal).toBe(aliceLines.length - 1);
  });
});

const FollowPreview = graphql(`
  subscription PreviewProgress($uploadId: ID!) {
    previewProgress(uploadId: $uploadId) {
      uploadId
      status
      recordsDecided
      recordsTotal
    }
  }
`);

describe("previewProgress subscription (SSE)", () => {
  it("follows a preview of a staged upload to its end; another user learns nothing of it", async () => {
    const judy = await s.user("judy@example.com");
    const oscar = await s.user("oscar@example.com");
    const uploadId = await stage(judy.token, aliceZip);
    const stream = await subscribe(s.url, judy.token, FollowPreview, { uploadId });
    const p = (await s.gql(Preview, { uploadId, options: {} }, judy.token)).data!.previewImport;
    if (p.__typename !== "ImportPreview") throw new Error(p.__typename);
    const { events: data, errors } = await stream.rest();
    expect(errors).toEqual([]);
    const events = data.map((d) => d.previewProgress);
    expect(events.length).toBeGreaterThan(1);
    for (const e of events) expect(e).toMatchObject({ uploadId, recordsTotal: p.records });
    expect(events.map((e) => e.recordsDecided)).toEqual(events.map((e) => e.recordsDecided).sort((a, b) => a - b));
    expect(events.at(-1)).toEqual({ uploadId, status: "SUCCEEDED", recordsDecided: p.records, recordsTotal: p.records });

    const theirs = await subscribe(s.url, oscar.token, FollowPreview, { uploadId });
    const seen = await theirs.rest();
    expect(seen.events).toEqual([]);
    expect(seen.errors.map((e) => e.message)).toEqual([`no staged upload ${uploadId}`]);
  });

  it("ends with FAILED when the preview fails", async () => {
    const ken = await s.user("ken@example.com");
    const uploadId = await stage(ken.token, jsonl([{ type: "app", data: { id: "broken" } }]), "broken.jsonl");
    const stream = await subscribe(s.url, ken.token, FollowPreview, { uploadId });
    const p = (await s.gql(Preview, { uploadId, options: { strict: true } }, ken.token)).data!.previewImport;
    expect(p.__typename).toBe("InvalidArchiveError");
    const { events } = await stream.rest();
    expect(events.at(-1)?.previewProgress).toMatchObject({ uploadId, status: "FAILED" });
  });
});
