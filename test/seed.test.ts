import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import type { Db } from "../src/db/client.js";
import { openDb } from "../src/db/client.js";
import { createLogger } from "../src/logger.js";
import { openRuntime, type Runtime } from "../src/runtime.js";
import { KINDS, seedDemo, type Kind, type SeedResult } from "../src/seed/index.js";
import { testDatabase, type TestDatabase } from "./support/database.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const SCALE = 600;

interface Side {
  tdb: TestDatabase;
  rt: Runtime;
  db: Db;
}

async function open(): Promise<Side> {
  const tdb = testDatabase();
  const config = loadConfig({ DATA_DIR: tdb.dataDir, LOG_LEVEL: "silent" });
  config.database = tdb.database;
  const rt = await openRuntime({ config, logger: createLogger("silent") });
  return { tdb, rt, db: rt.db };
}

const USER_A = "00000000-0000-4000-8000-00000000000a";
const USER_B = "00000000-0000-4000-8000-00000000000b";
const USER_C = "00000000-0000-4000-8000-00000000000c";

async function addUser(db: Db, id: string, email: string) {
  const at = new Date("2024-01-01T00:00:00Z");
  await db.user.create({ data: { id, email, createdAt: at, updatedAt: at } });
}

type Row = Record<string, any>;
type Data = Record<Kind, Row[]>;

/** Every record of one user, per kind, ordered by id. */
async function dump(db: Db, ownerId: string): Promise<Data> {
  const out = {} as Data;
  for (const kind of KINDS) {
    const delegate = (db as unknown as Record<string, { findMany(a: unknown): Promise<Row[]> }>)[kind];
    out[kind] = await delegate.findMany({ where: { ownerId }, orderBy: { id: "asc" } });
  }
  return out;
}

let one: Side;
let two: Side;
let seededA: SeedResult;
let dataA: Data;

beforeAll(async () => {
  [one, two] = await Promise.all([open(), open()]);
  await addUser(one.db, USER_A, "a@example.com");
  await addUser(two.db, USER_A, "a@example.com");
  seededA = await seedDemo(one.db, { userId: USER_A, scale: SCALE, seed: 7 });
  dataA = await dump(one.db, USER_A);
});

afterAll(async () => {
  for (const s of [one, two]) {
    await s?.rt.close();
    await s?.tdb.drop();
  }
});

describe("determinism", () => {
  it("the same seed and scale give identical rows in another database", async () => {
    const again = await seedDemo(two.db, { userId: USER_A, scale: SCALE, seed: 7 });
    expect(again.counts).toEqual(seededA.counts);
    const dataB = await dump(two.db, USER_A);
    for (const kind of KINDS) expect(dataB[kind], kind).toEqual(dataA[kind]);
  });

  it("another user with the same seed gets the same contents under different ids", async () => {
    await addUser(one.db, USER_B, "b@example.com");
    await seedDemo(one.db, { userId: USER_B, scale: SCALE, seed: 7 });
    const b = await dump(one.db, USER_B);
    const contents = (d: Data) => d.memory.map((m) => m.content).sort();
    expect(contents(b)).toEqual(contents(dataA));
    const idsA = new Set(KINDS.flatMap((k) => dataA[k].map((r) => r.id)));
    expect(KINDS.flatMap((k) => b[k].map((r) => r.id)).filter((id) => idsA.has(id))).toEqual([]);
  });

  it("another seed gives other data", async () => {
    await addUser(one.db, USER_C, "c@example.com");
    await seedDemo(one.db, { userId: USER_C, scale: SCALE, seed: 8 });
    const c = await dump(one.db, USER_C);
    expect(c.memory.map((m) => m.content)).not.toEqual(dataA.memory.map((m) => m.content));
    expect(c.annotation.map((a) => a.boundingBoxSequence)).not.toEqual(dataA.annotation.map((a) => a.boundingBoxSequence));
  });

  it("refuses to seed a user that already has data", async () => {
    await expect(seedDemo(one.db, { userId: USER_A, scale: 10, seed: 9 })).rejects.toThrow(/already has data/);
  });
});

describe("coverage", () => {
  it("has every kind, about `scale` records in all, most of them memories, claims and annotations", () => {
    for (const kind of KINDS) expect(dataA[kind].length, kind).toBeGreaterThan(0);
    for (const kind of KINDS) expect(seededA.counts[kind], kind).toBe(dataA[kind].length);
    expect(seededA.total).toBe(KINDS.reduce((n, k) => n + dataA[k].length, 0));
    expect(seededA.total).toBeGreaterThan(SCALE * 0.85);
    expect(seededA.total).toBeLessThan(SCALE * 1.15);
    const big = dataA.memory.length + dataA.memoryCategory.length + dataA.claim.length + dataA.annotation.length;
    expect(big / seededA.total).toBeGreaterThan(0.6);
  });

  it("shows every state, link type, type category, time type, member kind, effect and gloss item", () => {
    const values = (rows: Row[], f: (r: Row) => unknown) => new Set(rows.map(f));
    expect(values(dataA.memory, (m) => m.state)).toEqual(new Set(["active", "paused", "archived", "deleted"]));
    const objects = dataA.annotation.filter((a) => a.annotationType === "object");
    const types = dataA.annotation.filter((a) => a.annotationType === "type");
    expect(values(objects, (a) => a.linkType)).toEqual(new Set(["entity", "event", "time", "location"]));
    expect(values(types, (a) => a.typeCategory)).toEqual(new Set(["entity", "role", "event"]));
    expect(values(dataA.worldTime, (t) => t.type)).toEqual(new Set(["instant", "interval"]));
    expect(values(dataA.worldCollection, (c) => c.memberKind)).toEqual(new Set(["entity", "event", "time"]));
    expect(values(dataA.worldLocation, (l) => l.locationType)).toEqual(new Set(["point", "extent"]));
    expect(values(dataA.accessControl, (a) => a.effect)).toEqual(new Set(["allow", "deny"]));
    expect(values(dataA.accessControl, (a) => a.objectId === null)).toEqual(new Set([true, false]));
    expect(dataA.claim.some((c) => c.parentClaimId)).toBe(true);
    expect(dataA.app.some((a) => !a.isActive)).toBe(true);
    expect(dataA.memory.some((m) => m.embedding)).toBe(true);
    const boxes = dataA.annotation.flatMap((a) => a.boundingBoxSequence.boxes);
    expect(values(boxes, (b) => b.isKeyframe)).toEqual(new Set([true, false]));
    const items = glossItems(dataA);
    expect(values(items, (i) => `${i.type}:${i.refType ?? ""}`)).toEqual(
      new Set([
        "text:",
        "objectRef:entity-object",
        "objectRef:event-object",
        "objectRef:time-object",
        "objectRef:location-object",
        "claimRef:claim",
        "annotationRef:annotation",
        "typeRef:entity",
        "typeRef:event",
        "typeRef:role",
        "typeRef:relation",
      ]),
    );
  });
});

/** Every gloss item of the data: ontology types, descriptions, summaries, claims. */
function glossItems(d: Data): Row[] {
  const out: Row[] = [];
  for (const o of d.ontology) for (const list of [o.entityTypes, o.eventTypes, o.roleTypes, o.relationTypes]) for (const t of list) out.push(...t.gloss);
  for (const kind of ["worldEntity", "worldLocation", "worldEvent", "worldCollection"] as const) {
    for (const r of d[kind]) if (Array.isArray(r.description)) out.push(...r.description);
  }
  for (const s of d.videoSummary) out.push(...s.summary);
  for (const c of d.claim) out.push(...c.gloss, ...(c.extra?.claimerGloss ?? []));
  return out;
}

describe("referential consistency", () => {
  const idsOf = (kind: Kind) => new Set(dataA[kind].map((r) => r.id));

  it("memories: dates match the state, and the status history leads to it", () => {
    const history = new Map<string, Row[]>();
    for (const s of dataA.memoryStatus) {
      if (!history.has(s.memoryId)) history.set(s.memoryId, []);
      history.get(s.memoryId)!.push(s);
    }
    const apps = idsOf("app");
    for (const m of dataA.memory) {
      expect(apps.has(m.appId)).toBe(true);
      expect(m.archivedAt !== null, `${m.id} archivedAt`).toBe(m.state === "archived" || (m.state === "deleted" && m.archivedAt !== null));
      expect(m.deletedAt !== null, `${m.id} deletedAt`).toBe(m.state === "deleted");
      const rows = (history.get(m.id) ?? []).sort((a, b) => a.changedAt.getTime() - b.changedAt.getTime());
      if (rows.length === 0) {
        expect(m.state).toBe("active");
        continue;
      }
      expect(rows[0].changedAt.getTime()).toBeGreaterThanOrEqual(m.createdAt.getTime());
      expect(["active", "deleted"]).toContain(rows[0].oldState);
      if (rows[0].oldState === "deleted") expect(rows[0].newState).toBe("active");
      for (let i = 1; i < rows.length; i++) {
        expect(rows[i].oldState).toBe(rows[i - 1].newState);
        expect(rows[i].changedAt.getTime()).toBeGreaterThan(rows[i - 1].changedAt.getTime());
      }
      expect(rows.at(-1)!.newState).toBe(m.state);
      expect(m.updatedAt).toEqual(rows.at(-1)!.changedAt);
      const lastTo = (state: string) => rows.filter((r) => r.newState === state).at(-1)?.changedAt ?? null;
      expect(m.archivedAt).toEqual(lastTo("archived"));
      expect(m.deletedAt).toEqual(lastTo("deleted"));
      for (const r of rows) expect(r.changedById).toBe(USER_A);
    }
  });

  it("category links, access rules and names stay within the user's data", () => {
    const memories = idsOf("memory");
    const categories = idsOf("category");
    const apps = idsOf("app");
    for (const l of dataA.memoryCategory) {
      expect(memories.has(l.memoryId)).toBe(true);
      expect(categories.has(l.categoryId)).toBe(true);
    }
    for (const a of dataA.accessControl) {
      expect(a).toMatchObject({ subjectType: "app", objectType: "memory" });
      expect(apps.has(a.subjectId)).toBe(true);
      if (a.objectId !== null) expect(memories.has(a.objectId)).toBe(true);
    }
    for (const kind of ["app", "category", "persona"] as const) {
      const names = dataA[kind].map((r) => r.name);
      expect(new Set(names).size, kind).toBe(names.length);
    }
  });

  // type id -> [persona id, category]
  const typeIndex = () => {
    const index = new Map<string, [string, string]>();
    for (const o of dataA.ontology) {
      for (const [category, list] of [["entity", o.entityTypes], ["event", o.eventTypes], ["role", o.roleTypes], ["relation", o.relationTypes]] as const) {
        for (const t of list) {
          expect(index.has(t.id), `type id ${t.id} unique`).toBe(false);
          index.set(t.id, [o.personaId, category]);
        }
      }
    }
    return index;
  };
  const hasType = (index: Map<string, [string, string]>, personaId: string, category: string, typeId: string) => {
    const t = index.get(typeId);
    return t !== undefined && t[0] === personaId && t[1] === category;
  };

  it("ontologies: one per persona, role and parent references inside the ontology", () => {
    const personas = idsOf("persona");
    expect(dataA.ontology.map((o) => o.personaId).sort()).toEqual([...personas].sort());
    const types = typeIndex();
    for (const o of dataA.ontology) {
      for (const e of o.eventTypes) {
        for (const r of e.roles) expect(hasType(types, o.personaId, "role", r.roleTypeId)).toBe(true);
        if (e.parentEventId) expect(hasType(types, o.personaId, "event", e.parentEventId)).toBe(true);
      }
      expect(o.relations).toEqual([]);
    }
  });

  it("every gloss reference resolves to a record or type of the right kind", () => {
    const types = typeIndex();
    const targets: Record<string, Set<string>> = {
      "entity-object": idsOf("worldEntity"),
      "event-object": idsOf("worldEvent"),
      "time-object": idsOf("worldTime"),
      "location-object": idsOf("worldLocation"),
      annotation: idsOf("annotation"),
      claim: idsOf("claim"),
    };
    const items = glossItems(dataA).filter((i) => i.type !== "text");
    expect(items.length).toBeGreaterThan(100);
    for (const i of items) {
      if (i.type === "typeRef") {
        expect(hasType(types, i.refPersonaId, i.refType, i.content), JSON.stringify(i)).toBe(true);
      } else {
        expect(targets[i.refType]?.has(i.content), JSON.stringify(i)).toBe(true);
        if (i.type === "claimRef") expect(i.refClaimId).toBe(i.content);
      }
    }
  });

  it("world objects: type assignments, participants, collection members, relations, video references", () => {
    const types = typeIndex();
    const byKind: Record<string, Set<string>> = { entity: idsOf("worldEntity"), event: idsOf("worldEvent"), time: idsOf("worldTime"), location: idsOf("worldLocation") };
    for (const e of [...dataA.worldEntity, ...dataA.worldLocation]) {
      expect(e.typeAssignments.length).toBeGreaterThan(0);
      for (const a of e.typeAssignments) expect(hasType(types, a.personaId, "entity", a.entityTypeId)).toBe(true);
    }
    for (const ev of dataA.worldEvent) {
      for (const i of ev.personaInterpretations) {
        expect(hasType(types, i.personaId, "event", i.eventTypeId)).toBe(true);
        for (const p of i.participants) {
          expect(byKind.entity.has(p.entityId)).toBe(true);
          expect(hasType(types, i.personaId, "role", p.roleTypeId)).toBe(true);
        }
      }
    }
    for (const c of dataA.worldCollection) {
      expect(c.members.length).toBeGreaterThan(0);
      for (const m of c.members) expect(byKind[c.memberKind].has(m), `${c.memberKind} member`).toBe(true);
      for (const a of c.typeAssignments) {
        if (a.entityTypeId) expect(hasType(types, a.personaId, "entity", a.entityTypeId)).toBe(true);
        if (a.eventTypeId) expect(hasType(types, a.personaId, "event", a.eventTypeId)).toBe(true);
      }
    }
    for (const r of dataA.worldRelation) {
      expect(byKind[r.sourceType].has(r.sourceId)).toBe(true);
      expect(byKind[r.targetType].has(r.targetId)).toBe(true);
      expect(types.get(r.relationTypeId)?.[1]).toBe("relation");
    }
    const videos = idsOf("video");
    for (const t of dataA.worldTime) {
      if (t.type === "instant") expect(t).toMatchObject({ startTime: null, endTime: null, timestamp: expect.any(String) });
      else {
        expect(t.timestamp).toBeNull();
        expect(Date.parse(t.startTime)).toBeLessThan(Date.parse(t.endTime));
      }
      for (const ref of t.extra?.videoReferences ?? []) expect(videos.has(ref.videoId)).toBe(true);
    }
  });

  it("summaries and claims: one summary per video and persona, claim trees within a summary, relations typed by the persona", () => {
    const types = typeIndex();
    const pairs = dataA.videoSummary.map((s) => `${s.videoId}/${s.personaId}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    const summaries = new Map(dataA.videoSummary.map((s) => [s.id, s]));
    const claims = new Map(dataA.claim.map((c) => [c.id, c]));
    const byKind: Record<string, Set<string>> = { event: idsOf("worldEvent"), time: idsOf("worldTime"), location: idsOf("worldLocation") };
    const annotations = idsOf("annotation");
    for (const c of dataA.claim) {
      expect(summaries.has(c.summaryId)).toBe(true);
      expect(c.text).toBe(c.gloss.map((i: Row) => i.content).join(""));
      // walking up ends at a root of the same summary
      let at = c;
      for (let depth = 0; at.parentClaimId; depth++) {
        const parent = claims.get(at.parentClaimId)!;
        expect(parent?.summaryId).toBe(c.summaryId);
        expect(depth).toBeLessThan(claims.size);
        at = parent;
      }
      if (c.extra.claimEventId) expect(byKind.event.has(c.extra.claimEventId)).toBe(true);
      if (c.extra.claimTimeId) expect(byKind.time.has(c.extra.claimTimeId)).toBe(true);
      if (c.extra.claimLocationId) expect(byKind.location.has(c.extra.claimLocationId)).toBe(true);
      for (const span of c.extra.timeSpans ?? []) for (const a of span.annotationIds) expect(annotations.has(a)).toBe(true);
    }
    for (const r of dataA.claimRelation) {
      const [s, t] = [claims.get(r.sourceClaimId)!, claims.get(r.targetClaimId)!];
      expect(s.summaryId).toBe(t.summaryId);
      expect(r.sourceClaimId).not.toBe(r.targetClaimId);
      expect(hasType(types, summaries.get(s.summaryId)!.personaId, "relation", r.relationTypeId)).toBe(true);
    }
  });

  it("annotations: link columns match the type, and the box sequence matches its counters", () => {
    const types = typeIndex();
    const linked = { entity: "linkedEntityId", event: "linkedEventId", time: "linkedTimeId", location: "linkedLocationId" } as const;
    const byKind: Record<string, Set<string>> = { entity: idsOf("worldEntity"), event: idsOf("worldEvent"), time: idsOf("worldTime"), location: idsOf("worldLocation") };
    const videos = new Map(dataA.video.map((v) => [v.id, v]));
    for (const a of dataA.annotation) {
      expect(videos.has(a.videoId)).toBe(true);
      if (a.annotationType === "type") {
        expect(hasType(types, a.personaId, a.typeCategory, a.typeId)).toBe(true);
        expect(a.linkType).toBeNull();
        for (const col of Object.values(linked)) expect(a[col]).toBeNull();
      } else {
        expect(a.annotationType).toBe("object");
        expect(a.typeId).toBeNull();
        for (const [kind, col] of Object.entries(linked)) {
          if (kind === a.linkType) expect(byKind[kind].has(a[col])).toBe(true);
          else expect(a[col]).toBeNull();
        }
      }
      const seq = a.boundingBoxSequence;
      const keys = seq.boxes.filter((b: Row) => b.isKeyframe);
      expect(keys.length).toBeGreaterThan(0);
      expect(a.keyframeCount).toBe(keys.length);
      expect(seq.keyframeCount).toBe(keys.length);
      expect(a.interpolatedFrameCount).toBe(seq.boxes.length - keys.length);
      expect(seq.interpolatedFrameCount).toBe(a.interpolatedFrameCount);
      const ranges = seq.visibilityRanges;
      expect(a.totalFrames).toBe(ranges.at(-1).endFrame - ranges[0].startFrame + 1);
      expect(seq.totalFrames).toBe(a.totalFrames);
      const frames = seq.boxes.map((b: Row) => b.frameNumber);
      expect(frames).toEqual([...frames].sort((x: number, y: number) => x - y));
      expect(new Set(frames).size).toBe(frames.length);
      const v = videos.get(a.videoId)!;
      for (const b of seq.boxes) {
        expect(Number.isInteger(b.frameNumber) && b.frameNumber >= 0).toBe(true);
        expect(b.x >= 0 && b.y >= 0 && b.width > 0 && b.height > 0).toBe(true);
        expect(b.x + b.width).toBeLessThanOrEqual(v.width + 0.01);
      }
      // a segment between each pair of consecutive keyframes, every keyframe visible
      expect(seq.interpolationSegments.map((s: Row) => [s.startFrame, s.endFrame])).toEqual(keys.slice(1).map((k: Row, i: number) => [keys[i].frameNumber, k.frameNumber]));
      for (const k of keys) expect(ranges.some((r: Row) => r.visible && r.startFrame <= k.frameNumber && k.frameNumber <= r.endFrame)).toBe(true);
    }
  });
});

describe("stowage seed --demo", () => {
  it("creates the user, seeds, prints one JSON line, and refuses a second seed of the same user", async () => {
    const tdb = testDatabase();
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: tdb.dataDir, LOG_LEVEL: "silent" };
      delete env.DATABASE_URL;
      if (tdb.database.provider === "postgresql") env.DATABASE_URL = tdb.database.url;
      const args = ["bin/stowage.js", "seed", "--demo", "--scale", "500", "--user", "x@example.com", "--json"];
      const { stdout } = await run(process.execPath, args, { cwd: ROOT, env });
      const lines = stdout.trim().split("\n");
      expect(lines).toHaveLength(1);
      const out = JSON.parse(lines[0]);
      expect(out.user).toMatchObject({ email: "x@example.com", created: true, token: expect.stringMatching(/^stw_/) });
      expect(out).toMatchObject({ seed: "1", scale: 500 });
      expect(out.total).toBeGreaterThan(400);
      expect(out.total).toBeLessThan(600);
      expect(Object.keys(out.counts)).toEqual([...KINDS]);
      for (const kind of KINDS) expect(out.counts[kind], kind).toBeGreaterThan(0);

      const { db, close } = await openDb(tdb.database);
      try {
        expect(await db.user.findUniqueOrThrow({ where: { email: "x@example.com" } })).toMatchObject({ id: out.user.id, role: "USER" });
        expect(await db.memory.count({ where: { ownerId: out.user.id } })).toBe(out.counts.memory);
        expect(await db.annotation.count({ where: { ownerId: out.user.id } })).toBe(out.counts.annotation);
      } finally {
        await close();
      }

      const second = await run(process.execPath, args, { cwd: ROOT, env }).then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      expect(second?.code).toBe(1);
      expect(second?.stderr).toMatch(/already has data/);
    } finally {
      await tdb.drop();
    }
  });
});
