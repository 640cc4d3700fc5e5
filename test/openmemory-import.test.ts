// Importing OpenMemory's own backup archives (shared/fixtures/openmemory, the
// unmodified output of its export endpoint) through real HTTP multipart:
// stage, preview, import — and back out as OPENMEMORY.
import { readFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { ZipArchive } from "archiver";
import { parse as losslessParse } from "lossless-json";
import { fromLineData, kindDef, lineSchema, toLineData } from "../src/engine/kinds/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countsOf, exportArchive, jsonlAsWritten, HistoryDoc as OmHistory, ImportDoc as OmImport, PreviewDoc as OmPreview, StageDoc as OmStage } from "./support/client.js";
import type { ImportOptions } from "./gql/graphql.js";
import { parseLines, zipEntries } from "./support/archive.js";
import { cliEnv, runCli } from "./support/cli.js";
import { testDatabase } from "./support/database.js";
import { fixture } from "./support/fixtures.js";
import { startTestServer, type TestServer } from "./support/server.js";

// ---------------------------------------------------------------- the fixtures, read independently

type Obj = Record<string, unknown>;
type OmDoc = {
  user: Obj;
  apps: Obj[];
  categories: Obj[];
  memories: Obj[];
  memory_categories: { memory_id: string; category_id: string }[];
  status_history: Obj[];
  access_controls: Obj[];
  export_meta: Obj;
};
interface Facts {
  memories_json: {
    counts: Record<string, number>;
    memory_states: Record<string, number>;
    memories_per_app: Record<string, number>;
    memories_by_category_count: Record<string, number>;
    status_history_transitions: Record<string, number>;
    access_control_effects: Record<string, number>;
    apps: { id: string; name: string; is_active: boolean }[];
    categories: { id: string; name: string }[];
  };
  memories: { id: string; state: string; app: string; n_categories: number; created_at: string }[];
  notes: { memory_labels: Record<string, string> };
}

const FIXTURES = ["small", "second_user", "medium"] as const;
const zipBytes = (name: string) => readFileSync(fixture("openmemory", `${name}.zip`));
const facts = (name: string) => JSON.parse(readFileSync(fixture("openmemory", `${name}.facts.json`), "utf8")) as Facts;

async function omArchive(bytes: Buffer) {
  const entries = await zipEntries(bytes);
  const jsonText = entries.get("memories.json")!.toString("utf8");
  const jsonlText = gunzipSync(entries.get("memories.jsonl.gz")!).toString("utf8");
  return {
    entries,
    jsonText,
    doc: JSON.parse(jsonText) as OmDoc,
    jsonl: parseLines(jsonlText) as unknown as Obj[],
    /** the same, every number kept as the literal it was written as (LosslessNumber: compares by its text) */
    exact: losslessParse(jsonText) as OmDoc,
    exactJsonl: jsonlText.split("\n").filter((l) => l.trim()).map((l) => losslessParse(l) as Obj),
  };
}

/** What the DateTime column keeps of an OpenMemory timestamp: UTC, milliseconds (further digits cut). */
const dbIso = (s: unknown) => (s === null || s === undefined ? null : new Date(String(s).replace(/(\.\d{3})\d+/, "$1")).toISOString());
/** What the exact column keeps beside it: the instant to the microsecond, only when there are digits below the millisecond. */
const microIso = (s: unknown) => {
  const m = typeof s === "string" ? /^(.{19})\.(\d{3})(\d{3})\+00:00$/.exec(s) : null;
  return m && m[3] !== "000" ? `${m[1]}.${m[2]}${m[3]}Z` : null;
};
/** The exact column's entries for these timestamps (field → OpenMemory's value), or null when none has microseconds. */
const exactTimes = (times: Record<string, unknown>) => {
  const entries = Object.entries(times).flatMap(([f, v]) => (microIso(v) ? [[f, microIso(v)!]] : []));
  return entries.length ? Object.fromEntries(entries) : null;
};

async function makeZip(members: Record<string, Buffer>): Promise<Buffer> {
  const zip = new ZipArchive({ zlib: { level: 1 } });
  const chunks: Buffer[] = [];
  zip.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    zip.on("end", () => resolve());
    zip.on("error", reject);
  });
  for (const [name, bytes] of Object.entries(members)) zip.append(bytes, { name });
  await zip.finalize();
  await done;
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------- HTTP helpers


function client(s: TestServer) {
  return {
    async stage(token: string, bytes: Buffer, name: string) {
      const r = await s.upload(OmStage, { file: null as never }, { file: { name, bytes } }, token);
      const staged = r.data!.stageUpload;
      if (staged.__typename !== "StagedUpload") throw new Error(`stage refused: ${JSON.stringify(r)}`);
      expect(staged.format).toBe("OPENMEMORY");
      return staged.id;
    },
    async preview(token: string, uploadId: string, options: ImportOptions = {}) {
      return (await s.gql(OmPreview, { uploadId, options }, token)).data!.previewImport;
    },
    async importIt(token: string, uploadId: string, options: ImportOptions = {}) {
      return (await s.gql(OmImport, { input: { uploadId, ...options } }, token)).data!.importBackup;
    },
    /** stage + preview + import; the import does what the preview said */
    async run(token: string, bytes: Buffer, name: string, options: ImportOptions = {}) {
      const uploadId = await this.stage(token, bytes, name);
      const p = await this.preview(token, uploadId, options);
      if (p.__typename !== "ImportPreview") throw new Error(`preview: ${JSON.stringify(p)}`);
      const r = await this.importIt(token, uploadId, options);
      if (r.__typename !== "ImportBackupSuccess") throw new Error(`import: ${JSON.stringify(r)}`);
      expect(countsOf(r.record.counts)).toEqual(countsOf(p.counts));
      expect(r.record).toMatchObject({ status: "SUCCEEDED", format: "OPENMEMORY", crossUser: false, exporterUserId: null });
      return { p, r, uploadId };
    },
    exportOpenMemory: (token: string) => exportArchive(s, token, "OPENMEMORY"),
  };
}

/** Every row of a user's memory family, ids and all, for before/after comparisons. */
async function snapshot(s: TestServer, ownerId: string) {
  const db = s.rt.db;
  const by = { orderBy: { id: "asc" as const } };
  return {
    user: await db.user.findUniqueOrThrow({ where: { id: ownerId } }),
    apps: await db.app.findMany({ where: { ownerId }, ...by }),
    categories: await db.category.findMany({ where: { ownerId }, ...by }),
    memories: await db.memory.findMany({ where: { ownerId }, ...by }),
    links: await db.memoryCategory.findMany({ where: { ownerId }, ...by }),
    statuses: await db.memoryStatus.findMany({ where: { ownerId }, ...by }),
    acls: await db.accessControl.findMany({ where: { ownerId }, ...by }),
  };
}

const tally = <T>(items: T[], key: (t: T) => string) => {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
};

/** The user's data checked against the fixture's facts file. */
async function checkAgainstFacts(s: TestServer, ownerId: string, f: Facts) {
  const snap = await snapshot(s, ownerId);
  const c = f.memories_json.counts;
  expect(snap.apps.length).toBe(c.apps);
  expect(snap.categories.length).toBe(c.categories);
  expect(snap.memories.length).toBe(c.memories);
  expect(snap.links.length).toBe(c.memory_categories);
  expect(snap.statuses.length).toBe(c.status_history);
  expect(snap.acls.length).toBe(c.access_controls);

  expect(tally(snap.memories, (m) => m.state)).toEqual(f.memories_json.memory_states);
  const appName = new Map(snap.apps.map((a) => [a.id, a.name]));
  expect(tally(snap.memories, (m) => appName.get(m.appId)!)).toEqual(f.memories_json.memories_per_app);
  const nCats = tally(snap.links, (l) => l.memoryId);
  expect(tally(snap.memories, (m) => String(nCats[m.id] ?? 0))).toEqual(f.memories_json.memories_by_category_count);
  expect(tally(snap.statuses, (h) => `${h.oldState}->${h.newState}`)).toEqual(f.memories_json.status_history_transitions);
  expect(tally(snap.acls, (a) => a.effect)).toEqual(f.memories_json.access_control_effects);
  expect(snap.apps.map((a) => ({ id: a.id, name: a.name, is_active: a.isActive })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
    [...f.memories_json.apps].sort((a, b) => a.id.localeCompare(b.id)),
  );
  expect(snap.categories.map((x) => ({ id: x.id, name: x.name })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
    f.memories_json.categories.map((x) => ({ id: x.id, name: x.name })).sort((a, b) => a.id.localeCompare(b.id)),
  );
  // every memory, by id: same id (it was free), state, app, number of categories, created_at
  const byId = new Map(snap.memories.map((m) => [m.id, m]));
  for (const fm of f.memories) {
    const m = byId.get(fm.id);
    expect(m, fm.id).toBeDefined();
    expect({ state: m!.state, app: appName.get(m!.appId), n: nCats[fm.id] ?? 0, createdAt: m!.createdAt.toISOString() }, fm.id).toEqual({
      state: fm.state,
      app: fm.app,
      n: fm.n_categories,
      createdAt: dbIso(fm.created_at),
    });
  }
  // history rows name the importer, never OpenMemory's user uuid
  expect(new Set(snap.statuses.map((h) => h.changedById))).toEqual(new Set(snap.statuses.length ? [ownerId] : []));
  return snap;
}

// ---------------------------------------------------------------- every fixture into a fresh user

describe.each(FIXTURES)("%s.zip into a fresh user", (name) => {
  let s: TestServer;
  let om: ReturnType<typeof client>;
  let user: { id: string; token: string; email: string };
  let archive: Awaited<ReturnType<typeof omArchive>>;
  const f = facts(name);

  beforeAll(async () => {
    s = await startTestServer();
    om = client(s);
    user = await s.user(`importer-${name.replace("_", "-")}@example.com`);
    archive = await omArchive(zipBytes(name));
  });
  afterAll(() => s.close());

  it("imports every section with the counts, states, categories, history and ACLs of the facts file; preview == import", async () => {
    const { p, r } = await om.run(user.token, zipBytes(name), `${name}.zip`);
    expect(p.format).toBe("OPENMEMORY");
    // nothing clashes in a fresh account: no conflicts, no warnings, every id kept
    expect(p.conflictCount).toBe(0);
    expect(p.warnings).toEqual([]);
    expect(p.exporter).toEqual({ userId: null, crossUser: false });
    const c = f.memories_json.counts;
    const expected: Record<string, { create: number; update: number; skip: number; remap: number }> = {};
    for (const [kind, n] of [
      ["app", c.apps],
      ["category", c.categories],
      ["memory", c.memories],
      ["memoryCategory", c.memory_categories],
      ["memoryStatus", c.status_history],
      ["accessControl", c.access_controls],
    ] as const)
      if (n) expected[kind] = { create: n, update: 0, skip: 0, remap: 0 };
    expect(countsOf(r.record.counts)).toEqual(expected);
    expect(p.records).toBe(Object.values(c).reduce((a, n) => a + n, 0) - 1);

    await checkAgainstFacts(s, user.id, f);

    // every record's values, against the archive itself
    const snap = await snapshot(s, user.id);
    const memories = new Map(snap.memories.map((m) => [m.id, m]));
    const exactMemories = new Map(archive.exact.memories.map((m) => [String(m.id), m]));
    for (const m of archive.doc.memories) {
      const row = memories.get(m.id as string)!;
      expect(row.content, m.id as string).toBe(m.content);
      expect(row.metadata, m.id as string).toEqual(m.metadata);
      expect([row.updatedAt, row.archivedAt, row.deletedAt].map((d) => d?.toISOString() ?? null), m.id as string).toEqual([m.updated_at, m.archived_at, m.deleted_at].map(dbIso));
      // the microseconds the DateTime columns cut, and the metadata's numbers as OpenMemory wrote them
      const { metadata: metadataText, ...times } = (row.exact ?? {}) as Record<string, string>;
      expect(Object.keys(times).length ? times : null, m.id as string).toEqual(
        exactTimes({ createdAt: m.created_at, updatedAt: m.updated_at, archivedAt: m.archived_at, deletedAt: m.deleted_at }),
      );
      expect(losslessParse(metadataText ?? JSON.stringify(row.metadata)), m.id as string).toEqual(exactMemories.get(m.id as string)!.metadata);
    }
    const apps = new Map(snap.apps.map((a) => [a.id, a]));
    for (const a of archive.doc.apps) {
      expect({ ...apps.get(a.id as string)!, ownerId: undefined }).toEqual({
        id: a.id,
        ownerId: undefined,
        name: a.name,
        description: a.description,
        metadata: a.metadata,
        isActive: a.is_active,
        createdAt: new Date(dbIso(a.created_at)!),
        updatedAt: new Date(dbIso(a.updated_at)!),
        exact: exactTimes({ createdAt: a.created_at, updatedAt: a.updated_at }),
      });
    }
    const acls = new Map(snap.acls.map((a) => [a.id, a]));
    for (const a of archive.doc.access_controls) {
      expect({ ...acls.get(a.id as string)!, ownerId: undefined }).toEqual({
        id: a.id,
        ownerId: undefined,
        subjectType: a.subject_type,
        subjectId: a.subject_id,
        objectType: a.object_type,
        objectId: a.object_id,
        effect: a.effect,
        createdAt: new Date(dbIso(a.created_at)!),
        exact: exactTimes({ createdAt: a.created_at }),
      });
    }
    for (const h of snap.statuses) expect(h.exact, h.id).toEqual(exactTimes({ changedAt: archive.doc.status_history.find((x) => x.id === h.id)!.changed_at }));
    for (const c of snap.categories) {
      const src = archive.doc.categories.find((x) => x.id === c.id)!;
      expect(c.exact, c.id).toEqual(exactTimes({ createdAt: src.created_at, updatedAt: src.updated_at }));
    }
    expect(new Set(snap.links.map((l) => `${l.memoryId}/${l.categoryId}`))).toEqual(new Set(archive.doc.memory_categories.map((l) => `${l.memory_id}/${l.category_id}`)));

    // the profile survives in the account: OpenMemory's user block, as exported
    const u = await s.rt.db.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(u.metadata).toEqual({ openmemory: archive.doc.user });
    expect(u.externalId).toBe(archive.doc.user.user_id);
    expect(u.name).toBe(archive.doc.user.name);
    expect(u.email).toBe(user.email);

    const h = await s.gql(OmHistory, {}, user.token);
    expect(h.data!.importHistory.edges[0].node).toMatchObject({ id: r.record.id, format: "OPENMEMORY", status: "SUCCEEDED" });
  }, 240_000); // medium.zip (14k records) on a busy PostgreSQL takes a while

  if (name === "small") {
    it("keeps the edge-case memories exactly: bytes of content, metadata, states and dates", async () => {
      const labels = Object.fromEntries(Object.entries(f.notes.memory_labels).map(([id, l]) => [l, id]));
      const src = new Map(archive.doc.memories.map((m) => [m.id as string, m]));
      const get = async (label: string) => s.rt.db.memory.findUniqueOrThrow({ where: { id: labels[label] }, include: { categories: true, statuses: { orderBy: { changedAt: "asc" } } } });
      for (const label of ["M04", "M05", "M09", "M11", "M14", "M18", "M20", "M22", "M23", "M25"]) {
        const m = await get(label);
        const o = src.get(labels[label])!;
        // byte-exact: UTF-8 of what we hold equals UTF-8 of what OpenMemory wrote
        expect(Buffer.from(m.content, "utf8").equals(Buffer.from(o.content as string, "utf8")), label).toBe(true);
        expect(m.metadata, label).toEqual(o.metadata);
        expect(m.state, label).toBe(o.state);
      }
      expect((await get("M04")).content).toMatch(/\u200d/); // ZWJ sequence
      expect((await get("M04")).categories).toHaveLength(0);
      expect((await get("M05")).content).toContain("\n");
      expect((await get("M05")).metadata).toMatchObject({ verified_by: null, tags: ["allergy", "medical"] });
      expect((await get("M09")).content).toHaveLength(5120);
      expect((await get("M20")).content).toMatch(/\u2028[\s\S]*\u2029|\u2029[\s\S]*\u2028/);
      expect((await get("M20")).content).toContain("\u200b");
      expect((await get("M22")).content).toMatch(/^\s.*\s$/s);
      expect((await get("M25")).content).toMatch(/[\u{1F300}-\u{1FAFF}]/u);
      expect((await get("M25")).state).toBe("deleted");

      // M14: deleted with both archived_at and deleted_at, two history rows
      const m14 = await get("M14");
      expect(m14.archivedAt).not.toBeNull();
      expect(m14.deletedAt).not.toBeNull();
      expect(m14.statuses.map((h) => `${h.oldState}->${h.newState}`)).toEqual(["active->archived", "archived->deleted"]);
      // M18: active, archived_at kept (OpenMemory never clears it)
      const m18 = await get("M18");
      expect(m18.state).toBe("active");
      expect(m18.archivedAt?.toISOString()).toBe(dbIso(src.get(labels.M18)!.archived_at));
      expect(m18.statuses.map((h) => `${h.oldState}->${h.newState}`)).toEqual(["active->archived", "archived->active"]);

      // M23: metadata null in memories.json stays SQL NULL (the JSONL's {} is not used)
      expect((await get("M23")).metadata).toBeNull();
      expect(src.get(labels.M23)!.metadata).toBeNull();
      expect(archive.jsonl.find((l) => l.id === labels.M23)!.metadata).toEqual({});

      // M11: 2^53+1 is no double. The JSON column holds what JSON.parse makes of it,
      // 2^53 (what GraphQL's JSON scalar shows); the exact column holds the text with
      // the digits, and 1.5e-07 as Python wrote it
      const m11 = await get("M11");
      expect(archive.jsonText).toContain('"big_int": 9007199254740993');
      expect((m11.metadata as Obj).big_int).toBe(9007199254740992);
      expect(m11.metadata).toMatchObject({ neg: -42, tiny: 1.5e-7, zero: 0, path: "C:\\Users\\alice", quote: '"quoted"', escaped: "tab\there" });
      const m11Exact = m11.exact as Record<string, string>;
      expect(m11Exact.metadata).toContain('"big_int":9007199254740993');
      expect(m11Exact.metadata).toContain('"tiny":1.5e-07');
      expect(JSON.parse(m11Exact.metadata)).toEqual(m11.metadata);
      expect(m11.content).toContain("C:\\Users\\alice\\notes");
      // created_at 13:47:52.031337: the column keeps milliseconds, the exact column the microseconds
      expect(m11.createdAt.toISOString()).toBe("2024-07-18T13:47:52.031Z");
      expect(m11Exact.createdAt).toBe("2024-07-18T13:47:52.031337Z");
      expect(m11Exact).not.toHaveProperty("updatedAt"); // 08:30:00, nothing below the millisecond
      // a memory without such values has no exact column at all
      expect((await get("M05")).exact).toBeNull();
    });
  }

  it("round trip: exported again as OPENMEMORY, every record is the original archive's, to the microsecond and the digit", async () => {
    const ours = await omArchive(await om.exportOpenMemory(user.token));
    const theirs = archive;
    expect(Object.keys(ours.doc)).toEqual(Object.keys(theirs.doc));
    // compared as written: every number by its literal (LosslessNumber), every timestamp as its string
    const mine = ours.exact;
    const orig = theirs.exact;

    // the user block the import kept comes back as it came; its id names the owner throughout, as in the original
    expect(mine.user).toEqual(orig.user);
    expect(Object.keys(mine.user)).toEqual(Object.keys(orig.user));

    const key = <T extends Obj>(rows: T[]) => new Map(rows.map((r) => [String(r.id), r]));
    const sortedCategories = (rows: Obj[]) => rows.map((m) => ({ ...m, category_ids: [...(m.category_ids as string[])].sort() }));
    for (const section of ["apps", "categories", "status_history", "access_controls"] as const) {
      expect(mine[section], section).toHaveLength(orig[section].length);
      expect(key(mine[section]), section).toEqual(key(orig[section]));
    }
    // memories: category_ids in the order of our links (a set to OpenMemory, which reads them as rows)
    expect(mine.memories).toHaveLength(orig.memories.length);
    expect(key(sortedCategories(mine.memories))).toEqual(key(sortedCategories(orig.memories)));
    const pairs = (d: OmDoc) => new Set(d.memory_categories.map((l) => `${l.memory_id}/${l.category_id}`));
    expect(pairs(ours.doc)).toEqual(pairs(theirs.doc));
    expect(ours.doc.memory_categories).toHaveLength(theirs.doc.memory_categories.length);
    // export_meta: same filter fields and version; generated_at is the export's own time
    expect({ ...mine.export_meta, generated_at: null }).toEqual({ ...orig.export_meta, generated_at: null });

    // memories.jsonl.gz: the same logical records (M23's metadata {} in both)
    const sortedNames = (rows: Obj[]) => rows.map((r) => ({ ...r, categories: [...(r.categories as string[])].sort() }));
    expect(ours.exactJsonl).toHaveLength(theirs.exactJsonl.length);
    expect(key(sortedNames(ours.exactJsonl))).toEqual(key(sortedNames(theirs.exactJsonl)));

    // and as text: OpenMemory's value formats, Python's separators
    if (name === "small") {
      expect(ours.jsonText).toContain('"big_int": 9007199254740993,\n');
      expect(ours.jsonText).toContain('"tiny": 1.5e-07,\n');
      expect(ours.jsonText).toContain('"created_at": "2024-07-18T13:47:52.031337+00:00"');
      expect(ours.jsonText).toContain('"updated_at": "2024-02-19T16:40:02.118000+00:00"');
      const m11 = ours.jsonl.find((l) => l.id === "b361e01a-ffcc-4d24-af24-2a3c37b892eb")!;
      const m11Line = gunzipSync(ours.entries.get("memories.jsonl.gz")!).toString("utf8").split("\n").find((l) => l.includes(m11.id as string))!;
      const original = gunzipSync(theirs.entries.get("memories.jsonl.gz")!).toString("utf8").split("\n").find((l) => l.includes(m11.id as string))!;
      expect(m11Line).toBe(original);
    }
  });

  if (name === "small") {
    it("a native export keeps them too: microseconds in the line's timestamps, digits in its exact field; another account importing it holds the same", async () => {
      const lines = parseLines(gunzipSync(await exportArchive(s, user.token, "JSONL")).toString("utf8"));
      const m11 = lines.find((l) => l.type === "memory" && l.data.id === "b361e01a-ffcc-4d24-af24-2a3c37b892eb")!.data;
      expect(m11.createdAt).toBe("2024-07-18T13:47:52.031337Z");
      expect(m11.updatedAt).toBe("2024-10-20T08:30:00.000Z");
      expect(Object.keys(m11.exact as Obj)).toEqual(["metadata"]);
      expect((m11.exact as Obj).metadata).toContain('"big_int":9007199254740993');
      // milliseconds only: the line is as before
      const m02 = lines.find((l) => l.type === "memory" && l.data.id === "5642d626-3c57-413b-8992-6f54f585ab20")!.data;
      expect(m02.createdAt).toBe("2024-02-19T16:40:02.118Z");
      expect(m02).not.toHaveProperty("exact");

      const other = await s.user(`native-${name.replace("_", "-")}@example.com`);
      const staged = (await s.upload(OmStage, { file: null as never }, { file: { name: "native.jsonl", bytes: Buffer.from(lines.map((l) => JSON.stringify(l)).join("\n")) } }, other.token)).data!.stageUpload;
      if (staged.__typename !== "StagedUpload") throw new Error(JSON.stringify(staged));
      const r = (await s.gql(OmImport, { input: { uploadId: staged.id } }, other.token)).data!.importBackup;
      if (r.__typename !== "ImportBackupSuccess") throw new Error(JSON.stringify(r));
      // every id is new (another account's file); the exact columns are the same, record for record
      const exactOf = async (ownerId: string) => {
        const snap = await snapshot(s, ownerId);
        const memoryKey = new Map(snap.memories.map((m) => [m.id, m.content]));
        return {
          memories: snap.memories.map((m) => [m.content, m.exact]).sort(),
          apps: snap.apps.map((a) => [a.name, a.exact]).sort(),
          categories: snap.categories.map((c) => [c.name, c.exact]).sort(),
          statuses: snap.statuses.map((h) => [memoryKey.get(h.memoryId), h.changedAt.toISOString(), h.exact]).sort(),
          acls: snap.acls.map((a) => [a.effect, a.createdAt.toISOString(), a.exact]).sort(),
        };
      };
      const theirs = await exactOf(other.id);
      expect(theirs).toEqual(await exactOf(user.id));
      expect(theirs.memories.filter(([, e]) => e !== null)).toHaveLength(3); // M04, M11 (a time and its metadata), M15
    });

    it("importing the same file again in SKIP mode changes nothing; OVERWRITE restores edited records", async () => {
      const before = await snapshot(s, user.id);
      const { p, r, uploadId } = await om.run(user.token, zipBytes(name), "again.zip");
      // every record is one the user has: a duplicate id, skipped (links too: their ids are derived)
      expect(p.conflicts.edges.length).toBe(p.conflictCount);
      expect(p.conflicts.edges.every((e) => e.node.__typename === "DuplicateIdConflict" && "resolution" in e.node && e.node.resolution === "SKIP")).toBe(true);
      for (const c of r.record.counts) expect(c, c.kind).toMatchObject({ create: 0, update: 0, remap: 0 });
      expect(p.conflictCount).toBe(p.records);
      expect(await snapshot(s, user.id)).toEqual(before);

      const m05 = before.memories.find((m) => m.id === "7cce98b2-5661-44f7-a04a-270c12566ebb")!;
      await s.rt.db.memory.update({ where: { id: m05.id }, data: { content: "edited", state: "deleted", metadata: { x: 1 } } });
      const app = before.apps[0];
      await s.rt.db.app.update({ where: { id: app.id }, data: { description: "edited" } });
      const o = await om.importIt(user.token, uploadId, { mode: "OVERWRITE" });
      if (o.__typename !== "ImportBackupSuccess") throw new Error(JSON.stringify(o));
      expect(countsOf(o.record.counts).memory).toMatchObject({ update: f.memories_json.counts.memories, create: 0, remap: 0 });
      const after = await snapshot(s, user.id);
      expect(after.memories.find((m) => m.id === m05.id)).toEqual(m05);
      expect(after.apps.find((a) => a.id === app.id)).toEqual(app);
      expect(after.memories).toEqual(before.memories);
      expect(after.statuses).toEqual(before.statuses);
    });
  }
});

// ---------------------------------------------------------------- two users, one shared id

describe("the id both alice's and bob's archives use", () => {
  let s: TestServer;
  let om: ReturnType<typeof client>;
  const shared = "603bfbfd-ec3f-45e1-85c4-f9b6396f9e0d";
  beforeAll(async () => {
    s = await startTestServer();
    om = client(s);
  });
  afterAll(() => s.close());

  it("bob's copy gets a new id; alice's row is untouched and never re-pointed; bob's preview says nothing about it", async () => {
    const alice = await s.user("alice@example.com");
    const bob = await s.user("bob@example.com");
    await om.run(alice.token, zipBytes("small"), "small.zip");
    const aliceBefore = await snapshot(s, alice.id);
    expect(aliceBefore.memories.find((m) => m.id === shared)).toBeDefined();

    const bobArchive = await omArchive(zipBytes("second_user"));
    const uploadId = await om.stage(bob.token, zipBytes("second_user"), "second_user.zip");
    const p = await om.preview(bob.token, uploadId);
    if (p.__typename !== "ImportPreview") throw new Error(JSON.stringify(p));
    // no conflict, no warning, nothing that names the id or alice: it reads like a fresh import
    expect(p.conflictCount).toBe(0);
    expect(p.conflicts.edges).toEqual([]);
    expect(p.warnings).toEqual([]);
    const text = JSON.stringify(p);
    expect(text).not.toContain(shared);
    expect(text).not.toContain(alice.id);
    expect(text).not.toMatch(/alice/i);
    // a quiet new id counts as a plain create: the counts do not tell it from a kept one
    expect(countsOf(p.counts).memory).toEqual({ create: 8, update: 0, skip: 0, remap: 0 });

    const r = await om.importIt(bob.token, uploadId);
    if (r.__typename !== "ImportBackupSuccess") throw new Error(JSON.stringify(r));
    expect(countsOf(r.record.counts)).toEqual(countsOf(p.counts));

    // alice: byte for byte what she had — her memory, its links and history still point at it
    expect(await snapshot(s, alice.id)).toEqual(aliceBefore);
    expect(await s.rt.db.memoryStatus.count({ where: { memoryId: shared, ownerId: { not: alice.id } } })).toBe(0);
    expect(await s.rt.db.memoryCategory.count({ where: { memoryId: shared, ownerId: { not: alice.id } } })).toBe(0);

    // bob: all 8 memories, the shared one under a new id with its content, links and history
    const bobSnap = await checkAgainstFacts(s, bob.id, { ...facts("second_user"), memories: [] });
    const original = bobArchive.doc.memories.find((m) => m.id === shared)!;
    const copy = bobSnap.memories.find((m) => m.content === original.content)!;
    expect(copy.id).not.toBe(shared);
    expect(bobSnap.memories.some((m) => m.id === shared)).toBe(false);
    const sourceLinks = bobArchive.doc.memory_categories.filter((l) => l.memory_id === shared).map((l) => l.category_id);
    expect(bobSnap.links.filter((l) => l.memoryId === copy.id).map((l) => l.categoryId).sort()).toEqual(sourceLinks.sort());
    const sourceHist = bobArchive.doc.status_history.filter((h) => h.memory_id === shared).length;
    expect(bobSnap.statuses.filter((h) => h.memoryId === copy.id)).toHaveLength(sourceHist);
    // the other ids were free and are kept; same-named apps/categories of alice are not bob's concern
    for (const m of bobArchive.doc.memories.filter((m) => m.id !== shared)) expect(bobSnap.memories.some((x) => x.id === m.id)).toBe(true);
    expect(bobSnap.apps.map((a) => a.name).sort()).toEqual(["cursor", "windsurf"]);
  });
});

// ---------------------------------------------------------------- archives that are not quite OpenMemory's

describe("damaged and partial archives", () => {
  let s: TestServer;
  let om: ReturnType<typeof client>;
  let small: Awaited<ReturnType<typeof omArchive>>;
  beforeAll(async () => {
    s = await startTestServer();
    om = client(s);
    small = await omArchive(zipBytes("small"));
  });
  afterAll(() => s.close());

  /** JSONL records given as text are written as they are */
  const rezip = (doc: OmDoc, jsonl: (Obj | string)[] = small.jsonl) =>
    makeZip({
      // re-serialized by JSON.stringify: UTF-8 rather than \u escapes, which the reader takes as well
      "memories.json": Buffer.from(JSON.stringify(doc, null, 2)),
      "memories.jsonl.gz": gzipSync(jsonlAsWritten(jsonl)),
    });

  it("imports a memory only memories.jsonl.gz has, with its app and categories found (or made) by name", async () => {
    const carol = await s.user("carol@example.com");
    const doc = structuredClone(small.doc);
    const gone = ["1963695e-3108-4c6c-b8a1-fc9d93a36d96", "220aca1f-1a0c-4468-a230-5433f2a90e69"]; // M07 (history row), M10 (ACL)
    doc.memories = doc.memories.filter((m) => !gone.includes(m.id as string));
    doc.memory_categories = doc.memory_categories.filter((l) => !gone.includes(l.memory_id));
    const extra = { id: "0d4c2e8a-7a55-4a36-9d8b-0c1f3e9a1b2c", content: "only in the JSONL", metadata: { k: "v" }, created_at: "2025-06-01T12:00:00.250123+00:00", updated_at: "2025-06-02T12:00:00+00:00", state: "paused", app: "brand-new-app", categories: ["work", "brand new"] };
    // with an integer no double holds, which only the text can carry
    const extraText = JSON.stringify(extra).replace('"k":"v"', '"k":"v","n":12345678901234567890');
    const { p } = await om.run(carol.token, await rezip(doc, [...small.jsonl, extraText]), "partial.zip");
    expect(p.warnings).toEqual([]);
    expect(countsOf(p.counts)).toMatchObject({ app: { create: 4 }, category: { create: 7 }, memory: { create: 26 }, memoryCategory: { create: 31 + 2 }, memoryStatus: { create: 10 }, accessControl: { create: 4 } });

    for (const id of gone) {
      const src = small.jsonl.find((l) => l.id === id)!;
      const m = await s.rt.db.memory.findUniqueOrThrow({ where: { id }, include: { app: true, categories: { include: { category: true } }, statuses: true } });
      expect(m).toMatchObject({ ownerId: carol.id, content: src.content, metadata: src.metadata, state: src.state, archivedAt: null, deletedAt: null });
      expect(m.createdAt.toISOString()).toBe(dbIso(src.created_at));
      expect(m.app.name).toBe(src.app);
      expect(m.app.id).toBe(small.doc.apps.find((a) => a.name === src.app)!.id);
      expect(m.categories.map((c) => c.category.name).sort()).toEqual([...(src.categories as string[])].sort());
    }
    // M07's history row and M10's ACL, which come before the JSONL records, still find them
    expect(await s.rt.db.memoryStatus.count({ where: { memoryId: gone[0] } })).toBe(1);
    expect(await s.rt.db.accessControl.count({ where: { objectId: gone[1], ownerId: carol.id } })).toBe(1);

    const x = await s.rt.db.memory.findUniqueOrThrow({ where: { id: extra.id }, include: { app: true, categories: { include: { category: true } } } });
    expect(x).toMatchObject({ content: extra.content, metadata: { ...extra.metadata, n: 12345678901234567890 }, state: "paused" });
    expect(x.createdAt.toISOString()).toBe("2025-06-01T12:00:00.250Z");
    expect(x.exact).toEqual({ createdAt: "2025-06-01T12:00:00.250123Z", metadata: '{"k":"v","n":12345678901234567890}' });
    expect(x.app).toMatchObject({ name: "brand-new-app", ownerId: carol.id });
    expect(x.categories.map((c) => c.category.name).sort()).toEqual(["brand new", "work"]);
    expect(x.categories.find((c) => c.category.name === "work")!.categoryId).toBe(small.doc.categories.find((c) => c.name === "work")!.id);
  });

  it("a user block whose metadata holds an integer no double holds comes back with its digits", async () => {
    const gus = await s.user("gus@example.com");
    const text = JSON.stringify(small.doc, null, 2).replace('"plan": "free"', '"plan": "free",\n      "quota": 12345678901234567890');
    expect(text).toContain('"quota": 12345678901234567890');
    await om.run(gus.token, await makeZip({ "memories.json": Buffer.from(text), "memories.jsonl.gz": small.entries.get("memories.jsonl.gz")! }), "quota.zip");
    const u = await s.rt.db.user.findUniqueOrThrow({ where: { id: gus.id } });
    expect((u.metadata as Obj).openmemory).toMatchObject({ metadata: { plan: "free", quota: 12345678901234567000 } });
    expect((u.metadata as Obj).openmemoryExact).toContain('"quota":12345678901234567890');
    const ours = await omArchive(await om.exportOpenMemory(gus.token));
    expect(ours.jsonText).toContain('"quota": 12345678901234567890');
    expect(ours.exact.user).toEqual((losslessParse(text) as OmDoc).user);
  });

  it("without a memory_categories section, links come from memories[].category_ids; an unknown section is a warning", async () => {
    const fay = await s.user("fay@example.com");
    const doc: Obj = { ...structuredClone(small.doc) };
    delete doc.memory_categories;
    // a key that is also an Object.prototype name, put before export_meta like any section
    Object.defineProperty(doc, "constructor", { value: [{ id: "x" }], enumerable: true, writable: true, configurable: true });
    doc.tags = [{ id: "t1" }, { id: "t2" }];
    const uploadId = await om.stage(fay.token, await rezip(doc as OmDoc), "no-links.zip");
    const p = await om.preview(fay.token, uploadId);
    if (p.__typename !== "ImportPreview") throw new Error(JSON.stringify(p));
    expect(p.warnings).toEqual([expect.stringMatching(/unknown record type "memories\.json:constructor"/), expect.stringMatching(/unknown record type "memories\.json:tags"/)]);
    const links = countsOf(p.counts).memoryCategory;
    expect(links.create + links.remap + links.skip).toBe(31);
  });

  it("names memories.json, the section and the index of a bad record; strict refuses, lenient skips it with a warning", async () => {
    const dan = await s.user("dan@example.com");
    const doc = structuredClone(small.doc);
    doc.memories[3] = { ...doc.memories[3], state: "bogus" };
    (doc.status_history as unknown[])[1] = "not an object";
    const uploadId = await om.stage(dan.token, await rezip(doc), "bad.zip");
    const strict = await om.preview(dan.token, uploadId);
    if (strict.__typename !== "InvalidArchiveError") throw new Error(JSON.stringify(strict));
    expect(strict.problems.map((x) => x.message)).toEqual([
      expect.stringMatching(/^memories\.json memories\[3\] \(line \d+\): state: /),
      expect.stringMatching(/^memories\.json status_history\[1\] \(line \d+\): expected a JSON object, got string$/),
    ]);
    // the line is where the element starts in memories.json
    const lines = JSON.stringify(doc, null, 2).split("\n");
    const at = strict.problems[0].line;
    expect(lines[at - 1]).toBe("    {");
    expect(lines.slice(at, at + 2).join("\n")).toContain(`"id": "${doc.memories[3].id}"`);
    expect(strict.problems[0].message).toContain(`(line ${at})`);
    expect((await om.importIt(dan.token, uploadId)).__typename).toBe("InvalidArchiveError");
    expect(await s.rt.db.memory.count({ where: { ownerId: dan.id } })).toBe(0);

    const lenient = await om.preview(dan.token, uploadId, { strict: false });
    if (lenient.__typename !== "ImportPreview") throw new Error(JSON.stringify(lenient));
    expect(lenient.warnings.some((w) => w.includes("memories.json memories[3]"))).toBe(true);
    // carol's import above holds these ids already: dan's copies get new ones, 24 of the 25 memories
    const mem = countsOf(lenient.counts).memory;
    expect(mem.create + mem.remap).toBe(24);
  });

  it("refuses an unknown export version, and a memories.json that is not an object", async () => {
    const erin = await s.user("erin@example.com");
    const doc = structuredClone(small.doc);
    doc.export_meta.version = "2";
    const v2 = await om.preview(erin.token, await om.stage(erin.token, await rezip(doc), "v2.zip"));
    expect(v2).toMatchObject({ __typename: "UnsupportedFormatVersionError" });

    const broken = await makeZip({ "memories.json": Buffer.from('{\n  "user": {},\n  "apps": [\n    {"id": 1}\n  ]\n  "oops"\n}') });
    const b = await om.preview(erin.token, await om.stage(erin.token, broken, "broken.zip"));
    expect(b).toMatchObject({ __typename: "InvalidArchiveError", line: 6 });
    if (b.__typename === "InvalidArchiveError") expect(b.message).toContain("memories.json");
  });
});

// ---------------------------------------------------------------- what the typed columns cannot hold

describe("the exact column (kinds/exact.ts)", () => {
  const memory = kindDef("memory")!;
  const line = { id: "m1", appId: "a1", content: "c", state: "active" };

  it("line schemas take ISO timestamps with up to six fractional digits, and refuse finer ones", () => {
    const schema = lineSchema(memory);
    for (const t of ["2024-07-18T13:47:52Z", "2024-07-18T13:47:52.031Z", "2024-07-18T13:47:52.031337Z", "2024-07-18T13:47:52.031337+02:00"])
      expect(schema.safeParse({ ...line, createdAt: t }).success, t).toBe(true);
    const finer = schema.safeParse({ ...line, createdAt: "2024-07-18T13:47:52.0313371Z" });
    expect(finer.success).toBe(false);
    expect(finer.error?.issues[0].message).toMatch(/6 fractional digits/);
    // toISOString's own shape is checked without Date.parse: a day no calendar has still fails
    for (const t of ["2024-02-30T13:47:52.031Z", "2024-07-18T24:47:52.031Z", "2024-07-18 13:47:52", "yesterday", ""]) {
      const r = schema.safeParse({ ...line, createdAt: t });
      expect(r.success, t).toBe(false);
      expect(r.error?.issues[0].message, t).toBe("expected an ISO-8601 timestamp");
    }
    expect(schema.safeParse({ ...line, exact: { metadata: 1 } }).success).toBe(false);
  });

  it("keeps what a line's timestamps and JSON texts say beyond the columns, gives it back, and ignores an entry its column no longer matches", () => {
    const text = '{"big_int":9007199254740993,"tiny":1.5e-07}';
    const row = fromLineData(memory, { ...line, metadata: JSON.parse(text), exact: { metadata: text }, createdAt: "2024-07-18T15:47:52.031337+02:00", updatedAt: "2024-07-18T13:47:52.500Z" });
    expect(row.createdAt).toBe("2024-07-18T13:47:52.031Z");
    expect(row.exact).toEqual({ createdAt: "2024-07-18T13:47:52.031337Z", metadata: text });
    const back = toLineData(memory, row, {});
    expect(back).toMatchObject({ createdAt: "2024-07-18T13:47:52.031337Z", updatedAt: "2024-07-18T13:47:52.500Z", exact: { metadata: text } });
    // and again: the same row
    expect(fromLineData(memory, back)).toEqual(row);

    // columns written since by something that knows nothing of the entries: the entries no longer count
    const changed = toLineData(memory, { ...row, createdAt: new Date("2025-01-01T00:00:00.031Z"), metadata: { big_int: 1 } }, {});
    expect(changed.createdAt).toBe("2025-01-01T00:00:00.031Z");
    expect(changed).not.toHaveProperty("exact");
    // a line whose exact text says something else than its value: the value wins
    expect(fromLineData(memory, { ...line, metadata: { big_int: 2 }, exact: { metadata: text } }).exact).toBeNull();
    // nothing below the millisecond, no JSON number changed: no entries at all
    expect(fromLineData(memory, { ...line, createdAt: "2024-07-18T13:47:52.031000+00:00", metadata: { x: 0.5 } }).exact).toBeNull();
  });

  it("an OPENMEMORY export writes a memory's columns, not entries they have moved away from", async () => {
    const s = await startTestServer();
    try {
      const om = client(s);
      const u = await s.user("stale@example.com");
      await om.run(u.token, zipBytes("small"), "small.zip");
      const m11 = "b361e01a-ffcc-4d24-af24-2a3c37b892eb";
      await s.rt.db.memory.update({ where: { id: m11 }, data: { createdAt: new Date("2025-01-02T03:04:05.006Z"), metadata: { big_int: 7 } } });
      const doc = (await omArchive(await om.exportOpenMemory(u.token))).doc;
      expect(doc.memories.find((m) => m.id === m11)).toMatchObject({ created_at: "2025-01-02T03:04:05.006000+00:00", metadata: { big_int: 7 } });
    } finally {
      await s.close();
    }
  });
});

// ---------------------------------------------------------------- the command line

describe("stowage import of an OpenMemory ZIP", () => {
  it("previews as JSON and imports, straight on the database", async () => {
    const tdb = testDatabase();
    try {
      const env = cliEnv(tdb.database, tdb.dataDir);
      const created = await runCli(["users", "create", "--email", "cli@example.com", "--json"], env);
      expect(created.code, created.stderr).toBe(0);
      const file = fixture("openmemory", "small.zip");
      const p = await runCli(["import", file, "--user", "cli@example.com", "--preview", "--json"], env);
      expect(p.code, p.stderr).toBe(0);
      const preview = JSON.parse(p.stdout) as { format: string; counts: Record<string, { create: number }>; conflictCount: number; exporter: { crossUser: boolean } };
      expect(preview).toMatchObject({ format: "OPENMEMORY", conflictCount: 0, exporter: { crossUser: false } });
      expect(Object.fromEntries(Object.entries(preview.counts).map(([k, c]) => [k, c.create]))).toEqual({
        app: 3,
        category: 6,
        memory: 25,
        memoryCategory: 31,
        memoryStatus: 10,
        accessControl: 4,
      });
      const r = await runCli(["import", file, "--user", "cli@example.com", "--json"], env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: "SUCCEEDED", counts: preview.counts });
    } finally {
      await tdb.drop();
    }
  }, 180_000); // three CLI processes, each starting tsx
});

