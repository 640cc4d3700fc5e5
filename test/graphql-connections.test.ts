import { randomUUID } from "node:crypto";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/client.js";
import { graphql } from "./gql/index.js";
import { startTestServer, type TestServer } from "./support/server.js";

const MemoriesPage = graphql(`
  query MemoriesPage($first: Int, $after: String, $state: MemoryState, $appId: ID) {
    viewer {
      memories(first: $first, after: $after, state: $state, appId: $appId) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          cursor
          node {
            id
            content
            state
            metadata
            hasEmbedding
            archivedAt
            app {
              id
              name
            }
            categories {
              id
              name
            }
            statusHistory {
              oldState
              newState
              changedAt
            }
          }
        }
      }
    }
  }
`);

const SummariesPage = graphql(`
  query SummariesPage($first: Int) {
    viewer {
      videoSummaries(first: $first) {
        totalCount
        edges {
          node {
            id
            summary
            video {
              id
              title
            }
            persona {
              id
              name
              ontology {
                id
                entityTypes
              }
            }
            claims {
              id
              text
              gloss
              parent {
                id
              }
              children {
                id
              }
            }
          }
        }
      }
    }
  }
`);

const AnnotationsPage = graphql(`
  query AnnotationsPage($first: Int, $videoId: ID) {
    viewer {
      annotations(first: $first, videoId: $videoId) {
        totalCount
        edges {
          node {
            id
            linkType
            boundingBoxSequence
            keyframeCount
            interpolatedFrameCount
            totalFrames
            video {
              id
            }
            persona {
              id
            }
            linkedEntityId
            linkedEntity {
              id
              name
            }
            linkedEvent {
              id
              name
            }
            linkedTime {
              id
              label
            }
            linkedLocation {
              id
              name
            }
          }
        }
      }
    }
  }
`);

const AllConnections = graphql(`
  query AllConnections {
    viewer {
      apps(first: 100) { totalCount edges { node { id } } }
      categories(first: 100) { totalCount edges { node { id } } }
      memories(first: 100) { totalCount edges { node { id app { id } categories { id } statusHistory { id } } } }
      accessControls(first: 100) { totalCount edges { node { id } } }
      personas(first: 100) { totalCount edges { node { id ontology { id } } } }
      worldEntities(first: 100) { totalCount edges { node { id } } }
      worldLocations(first: 100) { totalCount edges { node { id } } }
      worldEvents(first: 100) { totalCount edges { node { id } } }
      worldTimes(first: 100) { totalCount edges { node { id } } }
      worldCollections(first: 100) { totalCount edges { node { id } } }
      worldRelations(first: 100) { totalCount edges { node { id } } }
      videos(first: 100) { totalCount edges { node { id } } }
      videoSummaries(first: 100) { totalCount edges { node { id video { id } persona { id } claims { id } } } }
      claims(first: 100) { totalCount edges { node { id parent { id } children { id } } } }
      claimRelations(first: 100) { totalCount edges { node { id source { id } target { id } } } }
      annotations(first: 100) { totalCount edges { node { id video { id } linkedEntity { id } linkedEvent { id } } } }
    }
  }
`);

const ClaimsAfter = graphql(`
  query ClaimsAfter($after: String) {
    viewer {
      claims(first: 5, after: $after) {
        edges {
          cursor
          node {
            id
          }
        }
      }
    }
  }
`);

const LastApps = graphql(`
  query LastApps($last: Int, $before: String) {
    viewer {
      apps(last: $last, before: $before) {
        totalCount
        pageInfo {
          hasPreviousPage
          startCursor
        }
        edges {
          node {
            id
            name
          }
        }
      }
    }
  }
`);

const hour = 3_600_000;
const t0 = Date.parse("2024-03-01T09:00:00.000Z");
const at = (h: number) => new Date(t0 + h * hour);
const gloss = (text: string, ref?: string) => [
  { type: "text", content: text },
  ...(ref ? [{ type: "objectRef", refType: "entity", id: ref }] : []),
];

/**
 * A small but complete workspace of both families, written straight through
 * Prisma as an import would leave it. `n` scales the repeated records.
 */
async function seedWorkspace(db: Db, ownerId: string, tag: string, n: number) {
  const apps = [randomUUID(), randomUUID()];
  await db.app.createMany({
    data: apps.map((id, i) => ({ id, ownerId, name: `${tag}-app-${i}`, metadata: { source: "openmemory" } })),
  });
  const categories = ["work", "health", "travel"].map((name) => ({ id: randomUUID(), ownerId, name: `${tag}-${name}` }));
  await db.category.createMany({ data: categories });

  const memories = Array.from({ length: n }, (_, i) => ({
    id: randomUUID(),
    ownerId,
    appId: apps[i % 2]!,
    content: `${tag} memory ${i}`,
    metadata: { i },
    state: i % 4 === 3 ? ("archived" as const) : ("active" as const),
    archivedAt: i % 4 === 3 ? at(i) : null,
    embedding: i % 2 === 0 ? new Uint8Array(new Float32Array([i, 0.5, -1]).buffer) : null,
    createdAt: at(i),
  }));
  await db.memory.createMany({ data: memories });
  await db.memoryCategory.createMany({
    data: memories.flatMap((m, i) =>
      categories.slice(0, 1 + (i % 3)).map((c) => ({ id: randomUUID(), ownerId, memoryId: m.id, categoryId: c.id })),
    ),
  });
  // written newest first, so order by changedAt is not the insertion order
  await db.memoryStatus.createMany({
    data: memories.flatMap((m, i) => [
      { id: randomUUID(), ownerId, memoryId: m.id, oldState: "paused" as const, newState: "active" as const, changedAt: at(i + 2) },
      { id: randomUUID(), ownerId, memoryId: m.id, oldState: "active" as const, newState: "paused" as const, changedAt: at(i + 1) },
    ]),
  });
  await db.accessControl.createMany({
    data: [
      { id: randomUUID(), ownerId, subjectType: "app", subjectId: apps[0], objectType: "memory", effect: "allow" },
      { id: randomUUID(), ownerId, subjectType: "app", subjectId: apps[1], objectType: "memory", effect: "deny" },
    ],
  });

  const personas = [randomUUID(), randomUUID()];
  await db.persona.createMany({
    data: personas.map((id, i) => ({ id, ownerId, name: `${tag}-analyst-${i}`, role: "analyst", informationNeed: "who did what" })),
  });
  await db.ontology.createMany({
    data: personas.map((personaId) => ({
      id: randomUUID(),
      ownerId,
      personaId,
      entityTypes: [{ id: "person", name: "Person", gloss: gloss("a human") }],
      eventTypes: [],
      roleTypes: [],
      relationTypes: [],
      relations: [],
    })),
  });

  const entities = Array.from({ length: 3 }, (_, i) => ({
    id: randomUUID(), ownerId, name: `${tag} entity ${i}`, description: gloss("someone"), typeAssignments: [],
  }));
  await db.worldEntity.createMany({ data: entities });
  const locations = [{ id: randomUUID(), ownerId, name: `${tag} harbour`, description: gloss("a place"), typeAssignments: [], coordinates: { lat: 1, lon: 2 } }];
  await db.worldLocation.createMany({ data: locations });
  const events = [{ id: randomUUID(), ownerId, name: `${tag} landing`, description: gloss("it happened"), personaInterpretations: [] }];
  await db.worldEvent.createMany({ data: events });
  const times = [{ id: randomUUID(), ownerId, type: "instant", label: `${tag} dawn`, timestamp: "2024-03-01T05:00:00Z" }];
  await db.worldTime.createMany({ data: times });
  await db.worldCollection.createMany({
    data: [{ id: randomUUID(), ownerId, memberKind: "entity", name: `${tag} crew`, description: [], members: entities.map((e) => e.id), typeAssignments: [] }],
  });
  await db.worldRelation.createMany({
    data: [{ id: randomUUID(), ownerId, relationTypeId: "knows", sourceType: "entity", sourceId: entities[0]!.id, targetType: "entity", targetId: entities[1]!.id }],
  });

  const videos = Array.from({ length: Math.ceil(n / 2) }, (_, i) => ({ id: randomUUID(), ownerId, title: `${tag} clip ${i}`, fps: 25, durationMs: 10_000 }));
  await db.video.createMany({ data: videos });
  const summaries = videos.flatMap((v) => personas.map((personaId) => ({ id: randomUUID(), ownerId, videoId: v.id, personaId, summary: gloss("a summary") })));
  await db.videoSummary.createMany({ data: summaries });
  // root → child → grandchild, with the descendants created earlier than their parents
  const claims = summaries.flatMap((s) => {
    const root = { id: randomUUID(), ownerId, summaryId: s.id, parentClaimId: null as string | null, text: "root", gloss: gloss("root", entities[0]!.id), createdAt: at(3) };
    const child = { id: randomUUID(), ownerId, summaryId: s.id, parentClaimId: root.id, text: "child", gloss: gloss("child"), createdAt: at(2) };
    const grandchild = { id: randomUUID(), ownerId, summaryId: s.id, parentClaimId: child.id, text: "grandchild", gloss: gloss("grandchild"), createdAt: at(1) };
    return [root, child, grandchild];
  });
  for (const level of [0, 1, 2]) await db.claim.createMany({ data: claims.filter((_, i) => i % 3 === level) });
  await db.claimRelation.createMany({
    data: summaries.map((_, i) => ({ id: randomUUID(), ownerId, sourceClaimId: claims[i * 3]!.id, targetClaimId: claims[i * 3 + 2]!.id, relationTypeId: "supports" })),
  });

  const links = [
    { linkType: "entity", linkedEntityId: entities[0]!.id },
    { linkType: "event", linkedEventId: events[0]!.id },
    { linkType: "time", linkedTimeId: times[0]!.id },
    { linkType: "location", linkedLocationId: locations[0]!.id },
  ];
  await db.annotation.createMany({
    data: Array.from({ length: n }, (_, i) => ({
      id: randomUUID(),
      ownerId,
      videoId: videos[i % videos.length]!.id,
      personaId: personas[i % 2],
      annotationType: "object",
      ...links[i % 4],
      boundingBoxSequence: { boxes: [{ frameNumber: 0, x: 1, y: 2, width: 10, height: 10, isKeyframe: true }], interpolationSegments: [] },
      totalFrames: 30,
      keyframeCount: 2,
      interpolatedFrameCount: 28,
    })),
  });
}

let s: TestServer;
let ada: { id: string; token: string };
let bob: { id: string; token: string };

beforeAll(async () => {
  s = await startTestServer();
  ada = await s.user("ada@example.com");
  bob = await s.user("bob@example.com");
  await seedWorkspace(s.rt.db, ada.id, "ada", 24);
  await seedWorkspace(s.rt.db, bob.id, "bob", 4);
});
afterAll(() => s.close());

/** Runs a query and returns its data with the number of SQL statements it took. */
async function counted<T, V>(doc: TypedDocumentNode<T, V>, vars: V, token: string) {
  s.queries.length = 0;
  const r = await s.gql(doc, vars, token);
  expect(r.errors).toBeUndefined();
  return { data: r.data!, statements: s.queries.length, sql: [...s.queries] };
}

describe("viewer connections", () => {
  it("reads memories with their app, categories and status history", async () => {
    const r = await s.gql(MemoriesPage, { first: 24 }, ada.token);
    expect(r.errors).toBeUndefined();
    const conn = r.data!.viewer.memories;
    expect(conn.totalCount).toBe(24);
    expect(conn.edges).toHaveLength(24);
    const rows = await s.rt.db.memory.findMany({
      where: { ownerId: ada.id },
      include: { app: true, categories: { include: { category: true } } },
    });
    for (const { node } of conn.edges) {
      const row = rows.find((m) => m.id === node.id)!;
      expect(node.app).toEqual({ id: row.appId, name: row.app.name });
      expect(node.categories.map((c) => c.name)).toEqual(row.categories.map((l) => l.category.name).sort());
      expect(node.hasEmbedding).toBe(row.embedding !== null);
      expect(node.metadata).toEqual(row.metadata);
      expect(node.statusHistory.map((h) => h.newState)).toEqual(["paused", "active"]);
      expect(Date.parse(node.statusHistory[0]!.changedAt)).toBeLessThan(Date.parse(node.statusHistory[1]!.changedAt));
      expect(node).not.toHaveProperty("embedding");
    }
  });

  it("reads the embedding column only when hasEmbedding is asked for", async () => {
    const without = await counted(AllConnections, {}, ada.token);
    expect(without.sql.filter((q) => /embedding/i.test(q))).toEqual([]);
    const withIt = await counted(MemoriesPage, { first: 2 }, ada.token);
    expect(withIt.sql.some((q) => /embedding/i.test(q))).toBe(true);
  });

  it("filters memories by state and app, counting what the filter keeps", async () => {
    const archived = await s.gql(MemoriesPage, { first: 50, state: "archived" }, ada.token);
    expect(archived.data!.viewer.memories.totalCount).toBe(6);
    expect(archived.data!.viewer.memories.edges.every((e) => e.node.state === "archived" && e.node.archivedAt)).toBe(true);

    const app = await s.rt.db.app.findFirstOrThrow({ where: { ownerId: ada.id, name: "ada-app-1" } });
    const byApp = await s.gql(MemoriesPage, { first: 50, appId: app.id }, ada.token);
    expect(byApp.data!.viewer.memories.totalCount).toBe(12);
    expect(byApp.data!.viewer.memories.edges.every((e) => e.node.app.id === app.id)).toBe(true);
  });

  it("pages through memories with first/after in id order, no gaps or repeats", async () => {
    const expected = (await s.rt.db.memory.findMany({ where: { ownerId: ada.id }, orderBy: { id: "asc" }, select: { id: true } })).map((m) => m.id);
    const seen: string[] = [];
    let after: string | null | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await s.gql(MemoriesPage, { first: 7, after }, ada.token);
      expect(r.errors).toBeUndefined();
      const conn = r.data!.viewer.memories;
      expect(conn.totalCount).toBe(24);
      seen.push(...conn.edges.map((e) => e.node.id));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
  });

  it("pages backwards with last/before", async () => {
    const expected = (await s.rt.db.app.findMany({ where: { ownerId: ada.id }, orderBy: { id: "asc" } })).map((a) => a.id);
    const last = await s.gql(LastApps, { last: 1 }, ada.token);
    expect(last.errors).toBeUndefined();
    expect(last.data!.viewer.apps.edges.map((e) => e.node.id)).toEqual([expected[1]]);
    expect(last.data!.viewer.apps.pageInfo.hasPreviousPage).toBe(true);
    const before = await s.gql(LastApps, { last: 1, before: last.data!.viewer.apps.pageInfo.startCursor }, ada.token);
    expect(before.data!.viewer.apps.edges.map((e) => e.node.id)).toEqual([expected[0]]);
    expect(before.data!.viewer.apps.pageInfo.hasPreviousPage).toBe(false);
  });

  it("lists a summary's claims parents first, with parent and children", async () => {
    const r = await s.gql(SummariesPage, { first: 3 }, ada.token);
    expect(r.errors).toBeUndefined();
    const conn = r.data!.viewer.videoSummaries;
    expect(conn.totalCount).toBe(24);
    for (const { node } of conn.edges) {
      expect(node.persona.ontology?.entityTypes).toEqual([{ id: "person", name: "Person", gloss: gloss("a human") }]);
      expect(node.claims.map((c) => c.text)).toEqual(["root", "child", "grandchild"]);
      const [root, child, grandchild] = node.claims;
      expect(root!.parent).toBeNull();
      expect(child!.parent?.id).toBe(root!.id);
      expect(grandchild!.parent?.id).toBe(child!.id);
      expect(root!.children.map((c) => c.id)).toEqual([child!.id]);
      expect((root!.gloss as { type: string }[])[1]?.type).toBe("objectRef");
    }
  });

  it("reads annotations with their video and linked object", async () => {
    const video = await s.rt.db.video.findFirstOrThrow({ where: { ownerId: ada.id, title: "ada clip 0" } });
    const r = await s.gql(AnnotationsPage, { first: 50, videoId: video.id }, ada.token);
    expect(r.errors).toBeUndefined();
    const conn = r.data!.viewer.annotations;
    expect(conn.totalCount).toBe(2);
    for (const { node } of conn.edges) {
      expect(node.video.id).toBe(video.id);
      expect(node.persona?.id).toBeTruthy();
      expect([node.keyframeCount, node.interpolatedFrameCount, node.totalFrames]).toEqual([2, 28, 30]);
      expect(node.boundingBoxSequence).toMatchObject({ boxes: [{ isKeyframe: true }] });
      const linked = { entity: node.linkedEntity, event: node.linkedEvent, time: node.linkedTime, location: node.linkedLocation };
      for (const [kind, obj] of Object.entries(linked)) expect(obj !== null).toBe(kind === node.linkType);
    }
    const all = await s.gql(AnnotationsPage, { first: 50 }, ada.token);
    const withEntity = all.data!.viewer.annotations.edges.find((e) => e.node.linkType === "entity")!.node;
    expect(withEntity.linkedEntity?.id).toBe(withEntity.linkedEntityId);
  });
});

describe("nested reads", () => {
  // Expected statements: token lookup (2) + viewer (1) + the page (1) + one per
  // nested relation, loaded for the whole page at once + totalCount (1).
  const nestedReads: [string, TypedDocumentNode<unknown, { first?: number | null }>, number][] = [
    // app, category links, categories, status history
    ["memories with app, categories and status history", MemoriesPage, 5 + 4],
    // video, persona, ontology, claims, claims' parents, claims' children
    ["summaries with video, persona, ontology and claims", SummariesPage, 5 + 6],
    // video, persona, linked entity, event, time, location
    ["annotations with video, persona and linked objects", AnnotationsPage, 5 + 6],
  ];
  it.each(nestedReads)("%s take %i statements for 2 rows and for 20", async (_name, doc, statements) => {
    const small = await counted(doc, { first: 2 }, ada.token);
    const large = await counted(doc, { first: 20 }, ada.token);
    const page = (d: unknown) => Object.values((d as { viewer: Record<string, { edges: unknown[]; totalCount: number }> }).viewer)[0]!;
    expect(page(small.data).edges).toHaveLength(2);
    expect(page(large.data).edges).toHaveLength(20);
    expect(page(large.data).totalCount).toBe(24);
    expect(small.statements, small.sql.join("\n")).toBe(statements);
    expect(large.statements, large.sql.join("\n")).toBe(statements);
  });
});

describe("scoping", () => {
  async function ownedIds(ownerId: string) {
    const db = s.rt.db;
    const where = { ownerId };
    const ids = async (p: Promise<{ id: string }[]>) => (await p).map((r) => r.id).sort();
    const select = { id: true } as const;
    return {
      apps: await ids(db.app.findMany({ where, select })),
      categories: await ids(db.category.findMany({ where, select })),
      memories: await ids(db.memory.findMany({ where, select })),
      accessControls: await ids(db.accessControl.findMany({ where, select })),
      personas: await ids(db.persona.findMany({ where, select })),
      worldEntities: await ids(db.worldEntity.findMany({ where, select })),
      worldLocations: await ids(db.worldLocation.findMany({ where, select })),
      worldEvents: await ids(db.worldEvent.findMany({ where, select })),
      worldTimes: await ids(db.worldTime.findMany({ where, select })),
      worldCollections: await ids(db.worldCollection.findMany({ where, select })),
      worldRelations: await ids(db.worldRelation.findMany({ where, select })),
      videos: await ids(db.video.findMany({ where, select })),
      videoSummaries: await ids(db.videoSummary.findMany({ where, select })),
      claims: await ids(db.claim.findMany({ where, select })),
      claimRelations: await ids(db.claimRelation.findMany({ where, select })),
      annotations: await ids(db.annotation.findMany({ where, select })),
    };
  }

  it.each([
    ["ada", () => ada, () => bob],
    ["bob", () => bob, () => ada],
  ])("%s sees exactly their own records through every connection", async (_name, me, other) => {
    const r = await s.gql(AllConnections, {}, me().token);
    expect(r.errors).toBeUndefined();
    const mine = await ownedIds(me().id);
    const theirs = new Set(Object.values(await ownedIds(other().id)).flat());
    const viewer = r.data!.viewer;
    for (const [kind, expected] of Object.entries(mine)) {
      const conn = viewer[kind as keyof typeof mine];
      expect(expected.length, kind).toBeGreaterThan(0);
      expect(conn.totalCount, kind).toBe(expected.length);
      expect(conn.edges.map((e) => e.node.id).sort(), kind).toEqual(expected);
    }
    // nothing reached through a nested field belongs to the other user either
    const everyId = JSON.stringify(viewer).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
    expect(everyId.length).toBeGreaterThan(100);
    expect(everyId.filter((id) => theirs.has(id))).toEqual([]);
  });

  it("filters by another user's app or video find nothing", async () => {
    const bobApp = await s.rt.db.app.findFirstOrThrow({ where: { ownerId: bob.id } });
    const bobVideo = await s.rt.db.video.findFirstOrThrow({ where: { ownerId: bob.id } });
    const m = await s.gql(MemoriesPage, { first: 10, appId: bobApp.id }, ada.token);
    expect(m.data!.viewer.memories).toMatchObject({ totalCount: 0, edges: [] });
    const a = await s.gql(AnnotationsPage, { first: 10, videoId: bobVideo.id }, ada.token);
    expect(a.data!.viewer.annotations).toMatchObject({ totalCount: 0, edges: [] });
  });

  it("a cursor taken from another user's records does not reveal them", async () => {
    const bobPage = await s.gql(ClaimsAfter, {}, bob.token);
    const bobCursor = bobPage.data!.viewer.claims.edges[0]!.cursor;
    const bobIds = new Set((await s.rt.db.claim.findMany({ where: { ownerId: bob.id }, select: { id: true } })).map((c) => c.id));
    const r = await s.gql(ClaimsAfter, { after: bobCursor }, ada.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.viewer.claims.edges.length).toBeGreaterThan(0);
    expect(r.data!.viewer.claims.edges.some((e) => bobIds.has(e.node.id))).toBe(false);
  });

  it("refuses the connections without a token", async () => {
    const r = await s.gql(AllConnections, {}, null);
    expect(r.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});
