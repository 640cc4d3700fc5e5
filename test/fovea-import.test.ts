// FOVEA's JSONL export imported through real HTTP multipart: the four real
// exports in ../shared/fixtures/fovea, and small FOVEA-shaped files built
// here for the paths those exports do not cover (linkType round trip,
// documented discriminators, world collections and relations).
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { derivedId, foveaLine } from "../src/engine/adapters/fovea.js";
import { parseLine } from "../src/engine/archive/reader.js";
import { seedDemo } from "../src/seed/index.js";
import { countsOf, exportArchive, jsonl, ImportDoc as FoveaImport, PreviewDoc as FoveaPreview, StageDoc as FoveaStage } from "./support/client.js";
import type { ImportOptions } from "./gql/graphql.js";
import { parseLines, type Line } from "./support/archive.js";
import { fixture } from "./support/fixtures.js";
import { startTestServer, type TestServer } from "./support/server.js";

type Counts = ReturnType<typeof countsOf>;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

let s: TestServer;
let n = 0;
const newUser = () => s.user(`fovea-${++n}@example.com`);

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

async function stage(token: string, bytes: Buffer, name: string) {
  const r = await s.upload(FoveaStage, { file: null as never }, { file: { name, bytes } }, token);
  const staged = r.data!.stageUpload;
  if (staged.__typename !== "StagedUpload") throw new Error(`stage refused: ${JSON.stringify(r)}`);
  return staged.id;
}

/** Preview (the file sent in the query itself) then import (staged), both over multipart HTTP. */
async function previewAndImport(token: string, bytes: Buffer, name: string, options: ImportOptions = {}) {
  const pr = await s.upload(FoveaPreview, { file: null as never, options }, { file: { name, bytes } }, token);
  const p = pr.data!.previewImport;
  if (p.__typename !== "ImportPreview") throw new Error(`preview: ${JSON.stringify(p)}`);
  const uploadId = await stage(token, bytes, name);
  const r = (await s.gql(FoveaImport, { input: { uploadId, ...options } }, token)).data!.importBackup;
  if (r.__typename !== "ImportBackupSuccess") throw new Error(`import: ${JSON.stringify(r)}`);
  expect(countsOf(r.record.counts)).toEqual(countsOf(p.counts));
  return { p, r: r.record };
}

/** The user's data as stowage's JSONL export (through exportBackup and the download route). */
async function exportJsonl(token: string): Promise<{ text: string; lines: Line[] }> {
  const text = gunzipSync(await exportArchive(s, token, "JSONL")).toString("utf8");
  return { text, lines: parseLines(text) };
}

const byType = (lines: Line[], type: string) => lines.filter((l) => l.type === type).map((l) => l.data);

const FOVEA_MODELS = ["persona", "ontology", "video", "worldEntity", "worldLocation", "worldEvent", "worldTime", "worldCollection", "worldRelation", "videoSummary", "claim", "claimRelation", "annotation"] as const;

/** Every FOVEA-family row a user holds, ids and all. */
async function foveaSnapshot(ownerId: string) {
  const db = s.rt.db as unknown as Record<string, { findMany(args: object): Promise<unknown[]> }>;
  const out: Record<string, unknown[]> = {};
  for (const m of FOVEA_MODELS) out[m] = await db[m].findMany({ where: { ownerId }, orderBy: { id: "asc" } });
  return out;
}

/** Every id the exporter's records had (and the exporter's own user id). */
function exporterIds(lines: Line[]): string[] {
  const ids = new Set<string>();
  for (const l of lines) {
    if (typeof l.data.id === "string") ids.add(l.data.id);
    if (typeof l.data.userId === "string") ids.add(l.data.userId);
  }
  return [...ids];
}

/** Gloss items of every gloss-bearing field of a record (including ontology types' and claimer glosses). */
function glossItems(d: Record<string, unknown>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const add = (v: unknown) => Array.isArray(v) && out.push(...(v.filter((i) => i && typeof i === "object") as Record<string, unknown>[]));
  for (const f of ["gloss", "summary", "description", "claimerGloss", "claimRelation"]) add(d[f]);
  const extra = d.extra as Record<string, unknown> | null | undefined;
  if (extra) for (const f of ["claimerGloss", "claimRelation"]) add(extra[f]);
  for (const f of ["entityTypes", "eventTypes", "roleTypes", "relationTypes"]) if (Array.isArray(d[f])) for (const t of d[f] as { gloss?: unknown }[]) add(t.gloss);
  return out;
}

// ---------------------------------------------------------------- the real exports

interface Expected {
  file: string;
  exporter: string;
  counts: { persona: number; ontology: number; worldEntity: number; videoSummary: number; claim: number; annotation: number };
  videos: number;
}

// the counts of ../shared/fixtures/fovea/README.md and FORMAT-FACTS.md §9
const FIXTURES: Expected[] = [
  {
    file: "cross-user-import-real-export.jsonl",
    exporter: "c92c0859-4a75-44f6-b6db-18b610ff3fd5",
    counts: { persona: 1, ontology: 1, worldEntity: 1, videoSummary: 1, claim: 2, annotation: 1 },
    videos: 2,
  },
  {
    file: "akeil-issue-121.jsonl",
    exporter: "eac1c15c-b85d-4e79-b7e5-171ca8d40866",
    counts: { persona: 4, ontology: 4, worldEntity: 33, videoSummary: 48, claim: 60, annotation: 50 },
    videos: 30,
  },
  {
    file: "microvent-seed.jsonl",
    exporter: "411f8734-903d-45d2-b824-572c21401064",
    counts: { persona: 4, ontology: 4, worldEntity: 6, videoSummary: 13, claim: 97, annotation: 0 },
    videos: 11,
  },
  {
    file: "cross-user-import-rich-export.jsonl",
    exporter: "05b32c0e-2dda-4855-b513-1b2a759bac93",
    counts: { persona: 20, ontology: 20, worldEntity: 79, videoSummary: 136, claim: 621, annotation: 9 },
    videos: 100,
  },
];

describe.each(FIXTURES)("FOVEA export $file imported by a fresh user", ({ file, exporter, counts, videos }) => {
  let user: { id: string; token: string };
  let bytes: Buffer;
  let source: Line[];
  let result: Awaited<ReturnType<typeof previewAndImport>>;
  let mine: { text: string; lines: Line[] };

  beforeAll(async () => {
    bytes = await readFile(fixture("fovea", file));
    source = parseLines(bytes.toString("utf8"));
    user = await newUser();
    result = await previewAndImport(user.token, bytes, file);
    mine = await exportJsonl(user.token);
  });

  it("is previewed as FOVEA's, cross-user from persona.userId, every record under a new id, missing videos as placeholders", () => {
    const { p, r } = result;
    expect(p.format).toBe("FOVEA");
    expect(p.records).toBe(source.length);
    expect(p.exporter).toEqual({ userId: exporter, crossUser: true });
    const expected: Counts = { video: { create: videos, update: 0, skip: 0, remap: 0 } };
    for (const [kind, nr] of Object.entries(counts)) if (nr) expected[kind] = { create: 0, update: 0, skip: 0, remap: nr };
    expect(countsOf(p.counts)).toEqual(expected);
    expect(r).toMatchObject({ status: "SUCCEEDED", format: "FOVEA", crossUser: true, exporterUserId: exporter });
  });

  it("holds exactly the file's records", async () => {
    const db = s.rt.db;
    const where = { where: { ownerId: user.id } };
    expect({
      persona: await db.persona.count(where),
      ontology: await db.ontology.count(where),
      worldEntity: await db.worldEntity.count(where),
      videoSummary: await db.videoSummary.count(where),
      claim: await db.claim.count(where),
      annotation: await db.annotation.count(where),
    }).toEqual(counts);
    expect(await db.video.count(where)).toBe(videos);
    const fileVideos = new Set([...byType(source, "summary"), ...byType(source, "annotation")].map((d) => d.videoId));
    expect(fileVideos.size).toBe(videos);
  });

  it("keeps none of the exporter's ids anywhere, claim prose included", () => {
    const text = mine.text.toLowerCase();
    const survivors = exporterIds(source).filter((id) => text.includes(id.toLowerCase()));
    expect(survivors).toEqual([]);
    // and the user's own records are all there is
    expect(byType(mine.lines, "persona")).toHaveLength(counts.persona);
  });

  it("rewrites the ids in claim text to the importer's records", () => {
    const fileIds = new Set(exporterIds(source));
    const myIds = new Set(mine.lines.map((l) => l.data.id as string));
    const fileClaims = byType(source, "claim");
    const myClaims = byType(mine.lines, "claim");
    const uuidsIn = (claims: Record<string, unknown>[]) => claims.flatMap((c) => (String(c.text).match(UUID) ?? []).map((u) => u.toLowerCase()));
    const before = uuidsIn(fileClaims);
    const after = uuidsIn(myClaims);
    expect(after).toHaveLength(before.length);
    // an id of a record in the file became the id of the importer's copy; anything else (ontology type ids) stays
    for (const u of after) expect(myIds.has(u) || !fileIds.has(u)).toBe(true);
    expect(after.filter((u) => myIds.has(u))).toHaveLength(before.filter((u) => fileIds.has(u)).length);
  });

  it("keeps ontology type ids and points typeRefs at the importer's personas", () => {
    const typeIds = (lines: Line[]) =>
      byType(lines, "ontology")
        .flatMap((o) => ["entityTypes", "eventTypes", "roleTypes", "relationTypes"].flatMap((f) => (o[f] as { id: string }[]).map((t) => t.id)))
        .sort();
    expect(typeIds(mine.lines)).toEqual(typeIds(source));
    const myPersonas = new Set(byType(mine.lines, "persona").map((p) => p.id));
    const typeRefs = (lines: Line[]) => lines.flatMap((l) => glossItems(l.data)).filter((g) => g.type === "typeRef");
    const before = typeRefs(source);
    const after = typeRefs(mine.lines);
    expect(after).toHaveLength(before.length);
    expect(after.map((g) => g.content).sort()).toEqual(before.map((g) => g.content).sort());
    for (const g of after) if (g.refPersonaId != null) expect(myPersonas.has(g.refPersonaId as string)).toBe(true);
    // every objectRef names one of the importer's world objects
    const myObjects = new Set([...byType(mine.lines, "worldEntity"), ...byType(mine.lines, "worldLocation")].map((e) => e.id));
    const objectRefs = mine.lines.flatMap((l) => glossItems(l.data)).filter((g) => g.type === "objectRef");
    expect(objectRefs).toHaveLength(source.flatMap((l) => glossItems(l.data)).filter((g) => g.type === "objectRef").length);
    // (the files' refs all resolve inside the file, README: "every internal reference ... resolves")
    for (const g of objectRefs) expect(myObjects.has(g.content as string)).toBe(true);
  });

  it("links every record to the importer's own records", async () => {
    const db = s.rt.db;
    const summaries = await db.videoSummary.findMany({ where: { ownerId: user.id }, include: { persona: true, video: true } });
    for (const x of summaries) expect([x.persona.ownerId, x.video.ownerId]).toEqual([user.id, user.id]);
    const claims = await db.claim.findMany({ where: { ownerId: user.id }, include: { summary: true } });
    for (const c of claims) expect(c.summary.ownerId).toBe(user.id);
    const annotations = await db.annotation.findMany({ where: { ownerId: user.id }, include: { linkedEntity: true, persona: true, video: true } });
    for (const a of annotations) {
      expect(a.video.ownerId).toBe(user.id);
      if (a.annotationType === "object") {
        expect(a.linkType).toBe("entity");
        expect(a.linkedEntity?.ownerId).toBe(user.id);
      } else expect(a.persona?.ownerId).toBe(user.id);
      const seq = a.boundingBoxSequence as { boxes: unknown[]; totalFrames: number };
      expect(a.keyframeCount).toBe(seq.boxes.length);
      expect(a.totalFrames).toBe(seq.totalFrames);
    }
    // the file's annotations, by their (kept) bounding boxes, link to the same entity names
    const fileEntities = new Map(byType(source, "entity").map((e) => [e.id, e.name]));
    const linkedNames = (xs: (string | undefined)[]) => xs.filter((x) => x !== undefined).sort();
    expect(linkedNames(annotations.map((a) => a.linkedEntity?.name))).toEqual(
      linkedNames(byType(source, "annotation").map((a) => (a.linkedEntityId ? (fileEntities.get(a.linkedEntityId as string) as string) : undefined))),
    );
  });

  it("imported again in SKIP mode: every record meets what the first import made; nothing created, nothing changed", async () => {
    const before = await foveaSnapshot(user.id);
    expect(before.persona).toHaveLength(counts.persona);
    const again = await previewAndImport(user.token, bytes, file, { mode: "SKIP" });
    expect(again.p.exporter).toEqual({ userId: exporter, crossUser: true });
    const c = countsOf(again.r.counts);
    for (const [kind, n] of Object.entries(c)) expect(n, kind).toMatchObject({ create: 0, update: 0, remap: 0 });
    // every record of the file skipped; the videos are no lines of the file (the first import made them as placeholders, this one finds them)
    const { video: placeholders, ...firstLines } = countsOf(result.r.counts);
    expect(placeholders.create + placeholders.remap).toBe(videos);
    expect(Object.values(c).reduce((a, n) => a + n.skip, 0)).toBe(Object.values(firstLines).reduce((a, n) => a + n.create + n.remap, 0));
    expect(again.r.warnings).toEqual([]);
    expect(await foveaSnapshot(user.id)).toEqual(before);
  });
});

describe("cross-user-import-real-export.jsonl, as FOVEA's own test uses it", () => {
  const file = "cross-user-import-real-export.jsonl";

  it("two users import the same file: both succeed, with their own ids, no duplicates", async () => {
    const bytes = await readFile(fixture("fovea", file));
    const source = parseLines(bytes.toString("utf8"));
    const [a, b] = [await newUser(), await newUser()];
    await previewAndImport(a.token, bytes, file);
    await previewAndImport(b.token, bytes, file);
    const db = s.rt.db;
    const ids: string[][] = [];
    for (const u of [a, b]) {
      // exactly one object annotation, linked to the importer's "Fred Rogers"
      const anns = await db.annotation.findMany({ where: { ownerId: u.id }, include: { linkedEntity: true, video: true } });
      expect(anns).toHaveLength(1);
      expect(anns[0]).toMatchObject({ annotationType: "object", linkType: "entity", linkedEntity: { name: "Fred Rogers", ownerId: u.id }, video: { ownerId: u.id } });
      expect(anns[0].linkedEntityId).not.toBe(source[2].data.id);
      // the second claim's typeRef: the "fire" type (id kept) of the importer's persona's ontology
      const persona = await db.persona.findFirstOrThrow({ where: { ownerId: u.id }, include: { ontology: true } });
      const fire = (persona.ontology!.entityTypes as { id: string; name: string }[]).find((t) => t.name === "fire")!;
      expect(fire.id).toBe("5ae47153-7b93-4a5c-8a39-4ee5ff833c40");
      const claims = await db.claim.findMany({ where: { ownerId: u.id }, orderBy: { createdAt: "asc" } });
      expect(claims.map((c) => c.text)).toEqual(["my first test claim", "my second test claim (about 5ae47153-7b93-4a5c-8a39-4ee5ff833c40)"]);
      const ref = (claims[1].gloss as Record<string, unknown>[]).find((g) => g.type === "typeRef");
      expect(ref).toEqual({ type: "typeRef", content: fire.id, refType: "entity", refPersonaId: persona.id });
      const summary = await db.videoSummary.findFirstOrThrow({ where: { ownerId: u.id } });
      expect(summary.personaId).toBe(persona.id);
      // FOVEA fields without a column of ours are kept in extra
      expect(claims[0].extra).toEqual({ summaryType: "video", extractionStrategy: "manual", video: ["text"], metadata: ["text"] });
      const entity = await db.worldEntity.findFirstOrThrow({ where: { ownerId: u.id } });
      expect(entity.extra).toMatchObject({ wikidataId: "Q1275768", importedFrom: "wikidata" });
      expect(persona.details).toBeNull();
      ids.push([persona.id, summary.id, entity.id, anns[0].id, anns[0].videoId, ...claims.map((c) => c.id)]);
    }
    // nothing shared between the two importers, nothing kept from the file
    expect(ids[0].filter((id) => ids[1].includes(id))).toEqual([]);
    const fileIds = new Set(exporterIds(source));
    expect(ids.flat().filter((id) => fileIds.has(id))).toEqual([]);
  });
});

describe("akeil-issue-121.jsonl specifics", () => {
  it("video 0a09067725832030: 4 annotations, 2 summaries, every link resolving in the importer's world; type annotations keep their type", async () => {
    const bytes = await readFile(fixture("fovea", "akeil-issue-121.jsonl"));
    const u = await newUser();
    await previewAndImport(u.token, bytes, "akeil.jsonl");
    const db = s.rt.db;
    // the id was taken by an earlier importer of the same file: this user's stand-in has a new id, and says which video it stands for
    const video = await db.video.findFirstOrThrow({ where: { ownerId: u.id, title: { contains: "0a09067725832030" } } });
    const anns = await db.annotation.findMany({ where: { videoId: video.id }, include: { linkedEntity: true } });
    expect(anns).toHaveLength(4);
    for (const a of anns) if (a.annotationType === "object") expect(a.linkedEntity?.ownerId).toBe(u.id);
    expect(await db.videoSummary.count({ where: { videoId: video.id } })).toBe(2);
    const typed = await db.annotation.findMany({ where: { ownerId: u.id, annotationType: "type" }, include: { persona: true } });
    expect(typed).toHaveLength(2);
    for (const t of typed) expect(t).toMatchObject({ typeCategory: "entity", typeId: "temp-type", linkType: null, persona: { ownerId: u.id } });
    // 6 annotations say totalFrames 1 (FOVEA's data): kept as written
    expect(await db.annotation.count({ where: { ownerId: u.id, totalFrames: 1 } })).toBe(6);
    // claimer fields land in extra
    const claims = await db.claim.findMany({ where: { ownerId: u.id } });
    const claimers = claims.map((c) => c.extra as Record<string, unknown>).filter((x) => x && "claimerType" in x);
    expect(claimers).toHaveLength(6);
    for (const x of claimers) expect(x).toMatchObject({ claimerGloss: expect.any(Array), claimRelation: expect.anything() });
  });
});

// ---------------------------------------------------------------- files built here

const FOREIGN = "0f0e0d0c-0000-4000-8000-00000000f00e";
const id = (nr: number) => `5eed0000-0000-4000-8000-${String(nr).padStart(12, "0")}`;
const T = "2026-01-02T03:04:05.000Z";
const box = (frameNumber: number, isKeyframe = true) => ({ x: 1, y: 2, width: 3, height: 4, frameNumber, isKeyframe });
const seq = (boxes: ReturnType<typeof box>[], extra: Record<string, unknown> = {}) => ({
  boxes,
  interpolationSegments: [],
  visibilityRanges: [{ visible: true, startFrame: 0, endFrame: 30 }],
  totalFrames: 31,
  keyframeCount: boxes.length,
  interpolatedFrameCount: 0,
  ...extra,
});

/** A FOVEA full export as its code writes it: persona, ontology, world (locations as entities), summary, claims, relations, annotations linked every way. */
function linkFile(types: { entity: string; summary: string; claimRelation: string } = { entity: "entity", summary: "summary", claimRelation: "claim_relation" }) {
  const P = id(1);
  const VIDEO = "feedc0ffee000001";
  return [
    { type: "metadata", data: { exporterUserId: FOREIGN, exportVersion: "1.0", exportedAt: T } },
    { type: "persona", data: { id: P, userId: FOREIGN, name: "Analyst", role: "analyst", informationNeed: "things", isSystemGenerated: false, createdAt: T, updatedAt: T } },
    {
      type: "ontology",
      data: {
        personaId: P,
        entityTypes: [{ id: "type-person", name: "person", gloss: [{ type: "text", content: "a human" }] }],
        eventTypes: [{ id: "type-meeting", name: "meeting", gloss: [{ type: "typeRef", content: "type-person", refType: "entity", refPersonaId: P }], roles: [] }],
        roleTypes: [],
        relationTypes: [{ id: "type-knows", name: "knows", gloss: [] }],
        relations: [],
      },
    },
    { type: "video", data: { id: VIDEO, filename: "meeting.mp4", duration: 12.5, frameRate: 30, width: 640, height: 480, uploader: "someone" } },
    { type: types.entity, data: { id: id(10), name: "Ada", description: [{ type: "text", content: "a person" }], typeAssignments: [{ personaId: P, entityTypeId: "type-person", confidence: 1 }], metadata: { alternateNames: ["A."] }, wikidataId: "Q7259", createdAt: T, updatedAt: T } },
    { type: types.entity, data: { id: id(11), name: "Hall", description: [{ type: "objectRef", content: id(10), refType: "entity-object" }], typeAssignments: [], locationType: "point", coordinateSystem: "GPS", coordinates: { latitude: 1, longitude: 2 }, createdAt: T, updatedAt: T } },
    {
      type: "event",
      data: {
        id: id(20),
        name: "Meeting",
        description: [{ type: "text", content: "they meet" }],
        personaInterpretations: [{ personaId: P, eventTypeId: "type-meeting", participants: [{ entityId: id(10), roleTypeId: "role-x" }] }],
        time: id(30),
        location: id(11),
        metadata: { certainty: 0.5 },
        createdAt: T,
        updatedAt: T,
      },
    },
    { type: "time", data: { id: id(30), type: "instant", label: "noon", timestamp: "2026-01-01T12:00:00.000Z", videoReferences: [{ videoId: VIDEO, frameNumber: 3 }], vagueness: { type: "approximate" } } },
    { type: "entity_collection", data: { id: id(40), name: "People", description: [], entityIds: [id(10), id(11)], collectionType: "group", typeAssignments: [{ personaId: P, entityTypeId: "type-person" }] } },
    { type: "event_collection", data: { id: id(41), name: "Meetings", description: [], eventIds: [id(20)], collectionType: "sequence", typeAssignments: [], timeCollectionId: id(42), structure: [{ eventId: id(20), children: [] }] } },
    { type: "time_collection", data: { id: id(42), name: "Noons", description: "every noon", times: [{ id: id(30), type: "instant", timestamp: "2026-01-01T12:00:00.000Z" }], collectionType: "recurring", recurrence: { frequency: "daily" } } },
    { type: "relation", data: { id: id(50), relationTypeId: "type-knows", sourceType: "entity", sourceId: id(10), targetType: "entity", targetId: id(11), metadata: { personaId: P }, createdAt: T, updatedAt: T } },
    { type: types.summary, data: { id: id(60), videoId: VIDEO, personaId: P, summary: [{ type: "objectRef", content: id(10), refType: "entity-object" }], visualAnalysis: "people", keyFrames: [{ frameNumber: 1, timestamp: 0, description: "x" }], confidence: 0.7, createdBy: FOREIGN, createdAt: T, updatedAt: T } },
    {
      type: "claim",
      data: {
        id: id(70),
        summaryId: id(60),
        summaryType: "video",
        text: `${id(10)} meets in ${id(11)}`,
        gloss: [
          { type: "objectRef", content: id(10), refType: "entity-object" },
          { type: "text", content: " meets in " },
          { type: "objectRef", content: id(11), refType: "location-object" },
        ],
        timeSpans: [{ start: 0, end: 1, source: "annotation", annotationIds: [id(80)] }],
        claimEventId: id(20),
        claimTimeId: id(30),
        claimLocationId: id(11),
        confidence: 1.0,
        createdAt: T,
        updatedAt: T,
      },
    },
    { type: "claim", data: { id: id(71), summaryId: id(60), parentClaimId: id(70), text: "", gloss: [{ type: "claimRef", content: id(70), refType: "claim", refClaimId: id(70) }, { type: "annotationRef", content: id(81), refType: "annotation" }], createdAt: T, updatedAt: T } },
    { type: types.claimRelation, data: { id: id(75), sourceClaimId: id(71), targetClaimId: id(70), relationTypeId: "type-knows", sourceSpans: [], notes: "n", createdAt: T, updatedAt: T } },
    { type: "annotation", data: { id: id(80), videoId: VIDEO, annotationType: "object", boundingBoxSequence: seq([box(0)]), linkedEventId: id(20), createdAt: T, updatedAt: T } },
    { type: "annotation", data: { id: id(81), videoId: VIDEO, annotationType: "object", boundingBoxSequence: seq([box(0)]), linkedTimeId: id(30), createdAt: T, updatedAt: T } },
    { type: "annotation", data: { id: id(82), videoId: VIDEO, annotationType: "object", boundingBoxSequence: seq([box(0)]), linkedLocationId: id(11), createdAt: T, updatedAt: T } },
    // FOVEA's NULL linkType: the export writes linkedEntityId, here naming a location (an entity in FOVEA)
    { type: "annotation", data: { id: id(83), videoId: VIDEO, annotationType: "object", boundingBoxSequence: seq([box(0)]), linkedEntityId: id(11), createdAt: T, updatedAt: T } },
    {
      type: "annotation",
      data: {
        id: id(84),
        videoId: VIDEO,
        annotationType: "object",
        boundingBoxSequence: seq([box(0), box(5, false), box(10)], { keyframeCount: 2, interpolatedFrameCount: 9, totalFrames: 40 }),
        linkedEntityId: id(10),
        confidence: 0.8,
        notes: "ada",
        createdAt: T,
        updatedAt: T,
      },
    },
    // no annotationType: FOVEA's importer reads it as a type annotation
    { type: "annotation", data: { id: id(85), videoId: VIDEO, personaId: P, typeCategory: "event", typeId: "type-meeting", boundingBoxSequence: seq([box(2)]), createdAt: T, updatedAt: T } },
  ];
}

describe("linkType round trip (FOVEA-shaped file built here)", () => {
  it("object annotations linked to an event, a time and a location import with that linkType and column, and keep it through our own export", async () => {
    const u = await newUser();
    const { p, r } = await previewAndImport(u.token, jsonl(linkFile()), "links.jsonl");
    expect(p.exporter).toEqual({ userId: FOREIGN, crossUser: true });
    expect(r.format).toBe("FOVEA");
    expect(countsOf(r.counts)).toEqual({
      persona: { create: 0, update: 0, skip: 0, remap: 1 },
      video: { create: 0, update: 0, skip: 0, remap: 1 },
      worldEntity: { create: 0, update: 0, skip: 0, remap: 1 },
      worldLocation: { create: 0, update: 0, skip: 0, remap: 1 },
      worldEvent: { create: 0, update: 0, skip: 0, remap: 1 },
      worldTime: { create: 0, update: 0, skip: 0, remap: 1 },
      worldCollection: { create: 0, update: 0, skip: 0, remap: 3 },
      ontology: { create: 0, update: 0, skip: 0, remap: 1 },
      annotation: { create: 0, update: 0, skip: 0, remap: 6 },
      videoSummary: { create: 0, update: 0, skip: 0, remap: 1 },
      claim: { create: 0, update: 0, skip: 0, remap: 2 },
      claimRelation: { create: 0, update: 0, skip: 0, remap: 1 },
      worldRelation: { create: 0, update: 0, skip: 0, remap: 1 },
    });
    const db = s.rt.db;
    const where = { where: { ownerId: u.id } };
    const [entity, location, event, time, video] = [
      await db.worldEntity.findFirstOrThrow(where),
      await db.worldLocation.findFirstOrThrow(where),
      await db.worldEvent.findFirstOrThrow(where),
      await db.worldTime.findFirstOrThrow(where),
      await db.video.findFirstOrThrow(where),
    ];
    const anns = await db.annotation.findMany({ ...where, orderBy: { createdAt: "asc" } });
    const link = (a: (typeof anns)[number]) => [a.linkType, a.linkedEntityId, a.linkedEventId, a.linkedTimeId, a.linkedLocationId];
    const objects = anns.filter((a) => a.annotationType === "object").map(link);
    expect(objects).toHaveLength(5);
    expect(objects).toEqual(
      expect.arrayContaining([
        ["event", null, event.id, null, null],
        ["time", null, null, time.id, null],
        ["location", null, null, null, location.id],
        ["location", null, null, null, location.id],
        ["entity", entity.id, null, null, null],
      ]),
    );
    const counted = anns.find((a) => a.notes === "ada")!;
    // keyframes = boxes not marked otherwise; the interpolated count and total as the sequence says
    expect(counted).toMatchObject({ keyframeCount: 2, interpolatedFrameCount: 9, totalFrames: 40, confidence: 0.8 });
    const typed = anns.find((a) => a.annotationType === "type")!;
    expect(typed).toMatchObject({ typeCategory: "event", typeId: "type-meeting", linkType: null, keyframeCount: 1 });

    // what became of the rest of the file
    expect(video).toMatchObject({ title: "meeting.mp4", durationMs: 12500, fps: 30, width: 640, height: 480 });
    expect(video.id).not.toBe("feedc0ffee000001");
    expect(video.metadata).toMatchObject({ filename: "meeting.mp4", uploader: "someone" });
    expect(location).toMatchObject({ name: "Hall", locationType: "point", coordinates: { latitude: 1, longitude: 2 }, extra: { coordinateSystem: "GPS" } });
    expect(location.description).toEqual([{ type: "objectRef", content: entity.id, refType: "entity-object" }]);
    expect(entity.extra).toEqual({ wikidataId: "Q7259" });
    const persona = await db.persona.findFirstOrThrow(where);
    expect(entity.typeAssignments).toEqual([{ personaId: persona.id, entityTypeId: "type-person", confidence: 1 }]);
    expect(persona.details).toEqual({ isSystemGenerated: false });
    expect(event.personaInterpretations).toEqual([{ personaId: persona.id, eventTypeId: "type-meeting", participants: [{ entityId: entity.id, roleTypeId: "role-x" }] }]);
    expect(event.extra).toEqual({ time: time.id, location: location.id });
    expect(time).toMatchObject({ type: "instant", label: "noon", timestamp: "2026-01-01T12:00:00.000Z", extra: { videoReferences: [{ videoId: video.id, frameNumber: 3 }], vagueness: { type: "approximate" } } });
    const cols = await db.worldCollection.findMany({ ...where, orderBy: { name: "asc" } });
    const byName = Object.fromEntries(cols.map((c) => [c.name, c]));
    expect(byName.People).toMatchObject({ memberKind: "entity", members: [entity.id, location.id], collectionType: "group" });
    expect(byName.Meetings).toMatchObject({ memberKind: "event", members: [event.id], extra: { timeCollectionId: byName.Noons.id, structure: [{ eventId: event.id, children: [] }] } });
    expect(byName.Noons).toMatchObject({ memberKind: "time", members: [time.id], description: "every noon", extra: { recurrence: { frequency: "daily" } } });
    const rel = await db.worldRelation.findFirstOrThrow(where);
    // FOVEA's "entity" endpoint naming Hall, one of its location entities: a location here
    expect(rel).toMatchObject({ sourceType: "entity", sourceId: entity.id, targetType: "location", targetId: location.id, relationTypeId: "type-knows", metadata: { personaId: persona.id } });
    const summary = await db.videoSummary.findFirstOrThrow(where);
    expect(summary).toMatchObject({ videoId: video.id, personaId: persona.id, summary: [{ type: "objectRef", content: entity.id, refType: "entity-object" }] });
    expect(summary.extra).toEqual({ visualAnalysis: "people", keyFrames: [{ frameNumber: 1, timestamp: 0, description: "x" }], confidence: 0.7 });
    const claims = await db.claim.findMany({ ...where, orderBy: { createdAt: "asc" } });
    const parent = claims.find((c) => c.parentClaimId === null)!;
    const child = claims.find((c) => c.parentClaimId !== null)!;
    expect(child.parentClaimId).toBe(parent.id);
    expect(parent.text).toBe(`${entity.id} meets in ${location.id}`);
    const eventAnn = anns.find((a) => a.linkType === "event")!;
    const timeAnn = anns.find((a) => a.linkType === "time")!;
    expect(parent.extra).toEqual({
      summaryType: "video",
      timeSpans: [{ start: 0, end: 1, source: "annotation", annotationIds: [eventAnn.id] }],
      claimEventId: event.id,
      claimTimeId: time.id,
      claimLocationId: location.id,
    });
    expect(child.gloss).toEqual([
      { type: "claimRef", content: parent.id, refType: "claim", refClaimId: parent.id },
      { type: "annotationRef", content: timeAnn.id, refType: "annotation" },
    ]);
    const cr = await db.claimRelation.findFirstOrThrow(where);
    expect(cr).toMatchObject({ sourceClaimId: child.id, targetClaimId: parent.id, relationTypeId: "type-knows", extra: { sourceSpans: [], notes: "n" } });
    const ontology = await db.ontology.findFirstOrThrow(where);
    expect(ontology.personaId).toBe(persona.id);
    expect((ontology.eventTypes as { gloss: unknown }[])[0].gloss).toEqual([{ type: "typeRef", content: "type-person", refType: "entity", refPersonaId: persona.id }]);

    // our own export says the same, and another user's import of it keeps the links
    const mine = await exportJsonl(u.token);
    const lines = byType(mine.lines, "annotation");
    expect(lines.filter((a) => a.linkType === "location").map((a) => a.linkedLocationId)).toEqual([location.id, location.id]);
    expect(lines.find((a) => a.linkType === "event")?.linkedEventId).toBe(event.id);
    expect(lines.find((a) => a.linkType === "time")?.linkedTimeId).toBe(time.id);
    const v = await newUser();
    const again = await previewAndImport(v.token, Buffer.from(mine.text), "ours.jsonl");
    expect(again.r.format).toBe("JSONL");
    const theirs = await db.annotation.findMany({ where: { ownerId: v.id }, include: { linkedEvent: true, linkedTime: true, linkedLocation: true, linkedEntity: true } });
    expect(theirs.map((a) => a.linkType ?? "none").sort()).toEqual(["entity", "event", "location", "location", "none", "time"]);
    for (const a of theirs) {
      const target = { entity: a.linkedEntity, event: a.linkedEvent, time: a.linkedTime, location: a.linkedLocation }[a.linkType ?? ""];
      if (a.linkType) expect(target?.ownerId).toBe(v.id);
    }
  });

  it("a relation endpoint that is a location: 'entity' in FOVEA's files, ours and FOVEA's own; a location once imported", async () => {
    const u = await newUser();
    await previewAndImport(u.token, jsonl(linkFile()), "links.jsonl");
    const location = await s.rt.db.worldLocation.findFirstOrThrow({ where: { ownerId: u.id } });
    const res = await fetch(`${s.url}/api/export`, { headers: { authorization: `Bearer ${u.token}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    const out = parseLines(text);
    // FOVEA's endpoint types have no "location": the location is an entity line with a locationType
    expect(byType(out, "relation")).toEqual([expect.objectContaining({ sourceType: "entity", targetType: "entity", targetId: location.id })]);
    expect(byType(out, "entity").find((e) => e.id === location.id)).toMatchObject({ locationType: "point" });
    expect(out.some((l) => l.type === "location")).toBe(false);

    // and read back: a location endpoint again, pointing at the new owner's location
    const v = await newUser();
    const back = await previewAndImport(v.token, Buffer.from(text), "fovea-export.jsonl");
    expect(back.r.format).toBe("FOVEA");
    const rel = await s.rt.db.worldRelation.findFirstOrThrow({ where: { ownerId: v.id } });
    const theirLocation = await s.rt.db.worldLocation.findFirstOrThrow({ where: { ownerId: v.id } });
    const theirEntity = await s.rt.db.worldEntity.findFirstOrThrow({ where: { ownerId: v.id } });
    expect(rel).toMatchObject({ sourceType: "entity", sourceId: theirEntity.id, targetType: "location", targetId: theirLocation.id });
  });

  it("does not rely on the file's order: the same file backwards imports the same records and links", async () => {
    const u = await newUser();
    const [metadata, ...rest] = linkFile();
    const { r } = await previewAndImport(u.token, jsonl([metadata, ...rest.reverse()]), "backwards.jsonl");
    const counts = countsOf(r.counts);
    expect(Object.values(counts).every((c) => c.skip === 0 && c.create === 0), JSON.stringify([counts, r.warnings])).toBe(true);
    expect(counts).toMatchObject({ annotation: { remap: 6 }, claim: { remap: 2 }, claimRelation: { remap: 1 }, worldLocation: { remap: 1 } });
    const db = s.rt.db;
    const location = await db.worldLocation.findFirstOrThrow({ where: { ownerId: u.id } });
    const anns = await db.annotation.findMany({ where: { ownerId: u.id } });
    expect(anns.map((a) => a.linkType ?? "none").sort()).toEqual(["entity", "event", "location", "location", "none", "time"]);
    // the legacy entity link to a location, written before the location's line, is a location link all the same
    expect(anns.filter((a) => a.linkType === "location").map((a) => a.linkedLocationId)).toEqual([location.id, location.id]);
    // so is the relation's "entity" endpoint naming it
    expect(await db.worldRelation.findFirstOrThrow({ where: { ownerId: u.id } })).toMatchObject({ targetType: "location", targetId: location.id });
    const claims = await db.claim.findMany({ where: { ownerId: u.id } });
    expect(claims.find((c) => c.parentClaimId)?.parentClaimId).toBe(claims.find((c) => !c.parentClaimId)?.id);
  });

  it("FOVEA's documented discriminators (worldEntity, videoSummary, claimRelation...) are read the same way", async () => {
    const u = await newUser();
    const file = linkFile({ entity: "worldEntity", summary: "videoSummary", claimRelation: "claimRelation" }).map((l) =>
      l.type === "event" ? { ...l, type: "worldEvent" } : l.type === "time" ? { ...l, type: "worldTime" } : l,
    );
    const { r } = await previewAndImport(u.token, jsonl(file), "documented.jsonl");
    expect(r.format).toBe("FOVEA");
    expect(countsOf(r.counts)).toMatchObject({ worldEntity: { remap: 1 }, worldLocation: { remap: 1 }, worldEvent: { remap: 1 }, worldTime: { remap: 1 }, videoSummary: { remap: 1 }, claimRelation: { remap: 1 }, annotation: { remap: 6 } });
    const db = s.rt.db;
    expect((await db.worldEntity.findFirstOrThrow({ where: { ownerId: u.id } })).extra).toEqual({ wikidataId: "Q7259" });
    expect((await db.videoSummary.findFirstOrThrow({ where: { ownerId: u.id } })).extra).toMatchObject({ visualAnalysis: "people" });
    expect(await db.annotation.count({ where: { ownerId: u.id, linkType: "location" } })).toBe(2);
    // a location line under its documented name is ours directly
    const w = await newUser();
    const loc = { type: "worldLocation", data: { id: id(90), name: "Square", description: [], locationType: "extent", boundary: [[0, 0]], createdAt: T, updatedAt: T } };
    const { r: r2 } = await previewAndImport(w.token, jsonl([loc]), "loc.jsonl");
    expect(countsOf(r2.counts)).toEqual({ worldLocation: { create: 1, update: 0, skip: 0, remap: 0 } });
    expect(await db.worldLocation.findUniqueOrThrow({ where: { id: id(90) } })).toMatchObject({ ownerId: w.id, locationType: "extent", coordinates: null, extra: { boundary: [[0, 0]] }, typeAssignments: [] });
  });

  it("a malformed FOVEA line is named by its own line number", async () => {
    const u = await newUser();
    const file = linkFile();
    (file[4].data as Record<string, unknown>).name = undefined; // line 5: an entity without a name
    (file[12].data as Record<string, unknown>).videoId = 7; // line 13: a summary with a numeric video id
    const bytes = jsonl(file);
    const pr = await s.upload(FoveaPreview, { file: null as never }, { file: { name: "bad.jsonl", bytes } }, u.token);
    const p = pr.data!.previewImport;
    expect(p).toMatchObject({ __typename: "InvalidArchiveError", line: 5 });
    if (p.__typename === "InvalidArchiveError") expect(p.problems.map((x) => [x.line, x.kind])).toEqual([
      [5, "worldEntity"],
      [13, "videoSummary"],
    ]);
  });
});

// ---------------------------------------------------------------- the adapter itself

describe("foveaLine", () => {
  it("leaves every line of stowage's own export as it is", async () => {
    const u = await newUser();
    await seedDemo(s.rt.db, { userId: u.id, scale: 200, seed: 5 });
    const { text } = await exportJsonl(u.token);
    const raws = text.split("\n").filter((l) => l.trim());
    const kinds = new Set<string>();
    raws.forEach((t, i) => {
      const parsed = parseLine({ line: i + 1, text: t });
      if (parsed.ok) kinds.add(parsed.type);
      expect(foveaLine(parsed)).toEqual(parseLine({ line: i + 1, text: t }));
    });
    expect([...kinds]).toEqual(expect.arrayContaining(["persona", "ontology", "worldEntity", "videoSummary", "claim", "annotation", "video"]));
  });

  it("gives an ontology the same id on every read, derived from its persona", () => {
    const line = { line: 3, text: JSON.stringify({ type: "ontology", data: { personaId: "p-1", entityTypes: [] } }) };
    const a = foveaLine(parseLine(line));
    const b = foveaLine(parseLine(line));
    expect(a).toEqual(b);
    expect(a).toMatchObject({ ok: true, line: 3, type: "ontology", data: { id: derivedId("ontology:p-1"), personaId: "p-1", eventTypes: [], relations: [] } });
    if (a.ok) expect(a.data.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("keeps the persona's userId on the line (cross-user detection), and no other system's user id in the data", () => {
    const p = foveaLine(parseLine({ line: 1, text: JSON.stringify({ type: "persona", data: { id: "x", userId: "u", name: "n", createdBy: "u", role: null } }) }));
    expect(p).toEqual({ ok: true, line: 1, type: "persona", sourceType: "persona", data: { id: "x", userId: "u", name: "n" } });
  });
});
