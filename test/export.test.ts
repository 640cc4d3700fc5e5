import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS, kindDef, lineSchema, walkColumnRefs, walkRefs, type KindName } from "../src/engine/kinds/index.js";
import { selectedRecords } from "../src/engine/records.js";
import { seedDemo } from "../src/seed/index.js";
import { graphql } from "./gql/index.js";
import type { ExportBackupInput } from "./gql/graphql.js";
import { readNative, sha256, zipEntries, parseLines, type Line } from "./support/archive.js";
import { until } from "./support/poll.js";
import { subscribe } from "./support/sse.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { fixture } from "./support/fixtures.js";
import { pgPoolConfig } from "../src/db/pg-config.js";
import { takeRunLock } from "../src/db/run-lock.js";
import { runLockHeld } from "./support/run-lock.js";
import { CANCELLED, exportLock, MAX_ATTEMPTS, storedFilter } from "../src/jobs/export-jobs.js";

const StartExport = graphql(`
  mutation StartExport($input: ExportBackupInput!) {
    exportBackup(input: $input) {
      __typename
      ... on ExportBackupSuccess {
        job {
          id
          status
        }
      }
      ... on Error {
        message
        code
      }
      ... on ValidationError {
        issues {
          path
          message
        }
      }
    }
  }
`);

const JobQuery = graphql(`
  query ExportJobState($id: ID!) {
    exportJob(id: $id) {
      id
      status
      error
      format
      byteSize
      sha256
      filename
      downloadUrl
      progress {
        recordsWritten
        recordsTotal
        fraction
      }
      counts {
        kind
        count
      }
    }
  }
`);

const CancelExport = graphql(`
  mutation CancelExportJob($id: ID!) {
    cancelExportJob(id: $id) {
      __typename
      ... on CancelExportJobSuccess {
        job {
          id
          status
          error
          downloadUrl
        }
      }
      ... on Error {
        code
        message
      }
    }
  }
`);

const DeleteArchive = graphql(`
  mutation DeleteExportArchive($id: ID!) {
    deleteExportArchive(id: $id) {
      __typename
      ... on DeleteExportArchiveSuccess {
        job {
          id
          status
          downloadUrl
        }
      }
      ... on Error {
        code
        message
      }
    }
  }
`);

const JobsQuery = graphql(`
  query ExportJobList {
    exportJobs(first: 50) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const StatsQuery = graphql(`
  query Stats($filter: ExportFilter) {
    exportStats(filter: $filter) {
      __typename
      ... on ExportStats {
        total
        keyframeCount
        interpolatedFrameCount
        sequenceCount
        estimatedBytes
        warning
        counts {
          kind
          count
        }
      }
      ... on ValidationError {
        message
      }
    }
  }
`);

type Input = { input: ExportBackupInput };

let s: TestServer;
let alice: { id: string; token: string };
let bob: { id: string; token: string };

beforeAll(async () => {
  s = await startTestServer();
  alice = await s.user("alice@example.com");
  bob = await s.user("bob@example.com");
  await seedDemo(s.rt.db, { userId: alice.id, scale: 1500, seed: 7 });
  await seedDemo(s.rt.db, { userId: bob.id, scale: 400, seed: 8 });
});
afterAll(() => s.close());

async function exportAndWait(input: Record<string, unknown>, token = alice.token) {
  const started = await s.gql(StartExport, { input } as Input, token);
  const result = started.data!.exportBackup;
  if (result.__typename !== "ExportBackupSuccess") throw new Error(`export refused: ${JSON.stringify(result)}`);
  const id = result.job.id;
  return until(async () => {
    const r = await s.gql(JobQuery, { id }, token);
    const job = r.data?.exportJob;
    return job && (job.status === "SUCCEEDED" || job.status === "FAILED") ? job : null;
  }, `export job ${id}`);
}

async function download(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

/**
 * Every line valid against its kind's schema, and no column reference (foreign
 * key, parent claim) to a record written later. References inside JSON (gloss
 * mentions) may point either way: world objects mention each other in cycles.
 */
function checkLines(lines: Line[]) {
  expect(lines[0].type).toBe("metadata");
  const seen = new Set<string>();
  const ids = new Set(lines.slice(1).map((l) => l.data.id as string));
  const forward: string[] = [];
  for (const line of lines.slice(1)) {
    const kind = kindDef(line.type);
    expect(kind, line.type).toBeDefined();
    const parsed = lineSchema(kind!).safeParse(line.data);
    expect(parsed.success, `${line.type} ${JSON.stringify(parsed.error?.issues?.slice(0, 2))}`).toBe(true);
    walkColumnRefs(kind!, structuredClone(line.data), (kinds, id) => {
      if (ids.has(id) && !seen.has(id)) forward.push(`${line.type} ${line.data.id} -> ${kinds.join("|")} ${id}`);
      return undefined;
    });
    seen.add(line.data.id as string);
  }
  expect(forward).toEqual([]);
}

describe("exportBackup (ZIP) through HTTP", () => {
  it("writes every record of the viewer, in dependency order, with a manifest that checks out", async () => {
    const job = await exportAndWait({ format: "ZIP" });
    expect(job.status, job.error ?? "").toBe("SUCCEEDED");
    expect(job.downloadUrl).toMatch(/\/downloads\//);
    const { res, body } = await download(job.downloadUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${job.sha256}"`);
    expect(sha256(body)).toBe(job.sha256);
    expect(body.length).toBe(job.byteSize);

    const { manifest, lines, gz, sha256: gzSha } = await readNative(body);
    expect(manifest.format).toBe("stowage-backup");
    expect(manifest.version).toBe(1);
    expect(manifest.exporter.userId).toBe(alice.id);
    expect(manifest.files).toEqual([{ path: "records.jsonl.gz", bytes: gz.length, sha256: gzSha, lines: lines.length }]);
    checkLines(lines);
    // a full export is closed: every reference, JSON ones included, names a record in it
    const dangling: string[] = [];
    const all = new Set(lines.map((l) => l.data.id));
    for (const line of lines.slice(1))
      walkRefs(kindDef(line.type)!, structuredClone(line.data), (kinds, id) => {
        if (!all.has(id)) dangling.push(`${line.type} ${line.data.id} -> ${kinds.join("|")} ${id}`);
        return undefined;
      });
    expect(dangling).toEqual([]);

    // exactly alice's rows, every kind
    for (const kind of KINDS) {
      const delegate = (s.rt.db as unknown as Record<string, { count(a: object): Promise<number> }>)[kind.model[0].toLowerCase() + kind.model.slice(1)];
      const n = await delegate.count({ where: { ownerId: alice.id } });
      expect(manifest.counts[kind.kind] ?? 0, kind.kind).toBe(n);
      expect(lines.filter((l) => l.type === kind.kind).length, kind.kind).toBe(n);
    }
    expect(job.counts.reduce((a, c) => a + c.count, 0)).toBe(lines.length - 1);
    expect(job.progress).toMatchObject({ recordsWritten: lines.length - 1, recordsTotal: lines.length - 1, fraction: 1 });
    const bobIds = new Set((await s.rt.db.memory.findMany({ where: { ownerId: bob.id }, select: { id: true } })).map((m) => m.id));
    expect(lines.some((l) => bobIds.has(l.data.id as string))).toBe(false);
  });

  it("writes a claim after its parent even when the parent belongs to another summary", async () => {
    // claims are read a batch of summaries at a time; a parent elsewhere must still come first
    const summaries = await s.rt.db.videoSummary.findMany({ where: { ownerId: alice.id }, orderBy: { id: "desc" }, take: 2 });
    const parent = await s.rt.db.claim.findFirstOrThrow({ where: { summaryId: summaries[0].id } });
    const child = await s.rt.db.claim.findFirstOrThrow({ where: { summaryId: summaries[1].id, parentClaimId: null } });
    await s.rt.db.claim.update({ where: { id: child.id }, data: { parentClaimId: parent.id } });
    try {
      const { lines } = await readNative((await download((await exportAndWait({ filter: { sections: ["SUMMARIES"] } })).downloadUrl!)).body);
      checkLines(lines);
      const at = (id: string) => lines.findIndex((l) => l.data.id === id);
      expect(at(parent.id)).toBeGreaterThan(0);
      expect(at(child.id)).toBeGreaterThan(at(parent.id));
      expect(lines.filter((l) => l.type === "claim").length).toBe(await s.rt.db.claim.count({ where: { ownerId: alice.id } }));
      // one summary per batch: the child's batch comes first, so it is held back and written after its parent
      const claims: string[] = [];
      for await (const page of selectedRecords(s.rt.db, alice.id, { sections: ["SUMMARIES"] }, 1)) for (const r of page) if (r.kind.kind === "claim") claims.push(r.data.id as string);
      expect(claims.indexOf(child.id)).toBeGreaterThan(claims.indexOf(parent.id));
      expect(new Set(claims).size).toBe(lines.filter((l) => l.type === "claim").length);
    } finally {
      await s.rt.db.claim.update({ where: { id: child.id }, data: { parentClaimId: null } });
    }
  });

  it("keeps keyframes only unless interpolated boxes are asked for", async () => {
    const plain = await readNative((await download((await exportAndWait({ format: "ZIP", filter: { sections: ["ANNOTATIONS"] } })).downloadUrl!)).body);
    const full = await readNative((await download((await exportAndWait({ format: "ZIP", filter: { sections: ["ANNOTATIONS"], includeInterpolated: true } })).downloadUrl!)).body);
    const boxes = (lines: Line[]) =>
      lines.filter((l) => l.type === "annotation").flatMap((l) => (l.data.boundingBoxSequence as { boxes: { isKeyframe?: boolean }[] }).boxes);
    expect(boxes(plain.lines).every((b) => b.isKeyframe !== false)).toBe(true);
    expect(boxes(full.lines).some((b) => b.isKeyframe === false)).toBe(true);
    const agg = await s.rt.db.annotation.aggregate({ where: { ownerId: alice.id }, _sum: { keyframeCount: true, interpolatedFrameCount: true } });
    expect(boxes(plain.lines).length).toBe(agg._sum.keyframeCount);
    expect(boxes(full.lines).length).toBe(agg._sum.keyframeCount! + agg._sum.interpolatedFrameCount!);
  });

  it("writes embeddings only when vectors are asked for", async () => {
    const without = await readNative((await download((await exportAndWait({ filter: { sections: ["MEMORIES"] } })).downloadUrl!)).body);
    const withV = await readNative((await download((await exportAndWait({ filter: { sections: ["MEMORIES"], includeVectors: true } })).downloadUrl!)).body);
    expect(without.lines.filter((l) => l.type === "memory").some((l) => "embedding" in l.data)).toBe(false);
    const withVectors = withV.lines.filter((l) => l.type === "memory" && typeof l.data.embedding === "string");
    const stored = await s.rt.db.memory.count({ where: { ownerId: alice.id, embedding: { not: null } } });
    expect(withVectors.length).toBe(stored);
    if (stored) {
      const m = withVectors[0];
      const row = await s.rt.db.memory.findUniqueOrThrow({ where: { id: m.data.id as string } });
      expect(Buffer.from(m.data.embedding as string, "base64").equals(Buffer.from(row.embedding!))).toBe(true);
    }
  });
});

describe("export filters", () => {
  it("by app: that app's memories, their categories and links, nothing of other apps", async () => {
    const app = await s.rt.db.app.findFirstOrThrow({ where: { ownerId: alice.id }, orderBy: { name: "asc" } });
    const { lines } = await readNative((await download((await exportAndWait({ filter: { sections: ["MEMORIES"], appId: app.id } })).downloadUrl!)).body);
    checkLines(lines);
    const memories = lines.filter((l) => l.type === "memory");
    expect(memories.length).toBe(await s.rt.db.memory.count({ where: { appId: app.id } }));
    expect(memories.every((m) => m.data.appId === app.id)).toBe(true);
    expect(lines.filter((l) => l.type === "app").map((l) => l.data.id)).toEqual([app.id]);
    const usedCategories = new Set(lines.filter((l) => l.type === "memoryCategory").map((l) => l.data.categoryId));
    expect(new Set(lines.filter((l) => l.type === "category").map((l) => l.data.id))).toEqual(usedCategories);
    expect(lines.some((l) => l.type === "persona" || l.type === "annotation")).toBe(false);
  });

  it("by date range (inclusive): records created in it, plus what they need", async () => {
    const all = await s.rt.db.memory.findMany({ where: { ownerId: alice.id }, orderBy: { createdAt: "asc" }, select: { createdAt: true } });
    const from = all[Math.floor(all.length / 4)].createdAt;
    const to = all[Math.floor(all.length / 2)].createdAt;
    const { lines } = await readNative((await download((await exportAndWait({ filter: { sections: ["MEMORIES"], from: from.toISOString(), to: to.toISOString() } })).downloadUrl!)).body);
    checkLines(lines);
    const memories = lines.filter((l) => l.type === "memory");
    expect(memories.length).toBe(await s.rt.db.memory.count({ where: { ownerId: alice.id, createdAt: { gte: from, lte: to } } }));
    expect(memories.some((m) => m.data.createdAt === from.toISOString())).toBe(true);
    expect(memories.some((m) => m.data.createdAt === to.toISOString())).toBe(true);
    // their apps come along whatever the apps' own dates
    const appIds = new Set(memories.map((m) => m.data.appId));
    expect(new Set(lines.filter((l) => l.type === "app").map((l) => l.data.id))).toEqual(appIds);
  });

  it("by video and persona: their summaries, claims and annotations, with the persona, video and linked objects they need", async () => {
    const summary = await s.rt.db.videoSummary.findFirstOrThrow({ where: { ownerId: alice.id }, orderBy: { id: "asc" } });
    const { lines } = await readNative(
      (await download((await exportAndWait({ filter: { sections: ["SUMMARIES", "ANNOTATIONS"], videoIds: [summary.videoId] } })).downloadUrl!)).body,
    );
    checkLines(lines);
    const byType = (t: KindName) => lines.filter((l) => l.type === t);
    expect(byType("video").map((l) => l.data.id)).toEqual([summary.videoId]);
    expect(byType("videoSummary").every((l) => l.data.videoId === summary.videoId)).toBe(true);
    expect(byType("annotation").length).toBe(await s.rt.db.annotation.count({ where: { videoId: summary.videoId } }));
    const personaIds = new Set([...byType("videoSummary"), ...byType("annotation")].map((l) => l.data.personaId).filter(Boolean));
    expect(new Set(byType("persona").map((l) => l.data.id))).toEqual(personaIds);
    const linked = new Set(byType("annotation").flatMap((l) => [l.data.linkedEntityId, l.data.linkedEventId, l.data.linkedTimeId, l.data.linkedLocationId]).filter(Boolean));
    const world = new Set([...byType("worldEntity"), ...byType("worldEvent"), ...byType("worldTime"), ...byType("worldLocation")].map((l) => l.data.id));
    for (const id of linked) expect(world.has(id)).toBe(true);
    expect(byType("claim").length).toBe(await s.rt.db.claim.count({ where: { summary: { videoId: summary.videoId } } }));

    const persona = await s.rt.db.persona.findFirstOrThrow({ where: { ownerId: alice.id } });
    const p = await readNative((await download((await exportAndWait({ filter: { sections: ["PERSONAS", "SUMMARIES"], personaIds: [persona.id] } })).downloadUrl!)).body);
    checkLines(p.lines);
    expect(p.lines.filter((l) => l.type === "persona").map((l) => l.data.id)).toEqual([persona.id]);
    expect(p.lines.filter((l) => l.type === "ontology").map((l) => l.data.personaId)).toEqual([persona.id]);
    expect(p.lines.filter((l) => l.type === "videoSummary").every((l) => l.data.personaId === persona.id)).toBe(true);
  });

  it("by annotation type", async () => {
    const { lines } = await readNative((await download((await exportAndWait({ filter: { sections: ["ANNOTATIONS"], annotationTypes: ["TYPE"] } })).downloadUrl!)).body);
    const anns = lines.filter((l) => l.type === "annotation");
    expect(anns.length).toBe(await s.rt.db.annotation.count({ where: { ownerId: alice.id, annotationType: "type" } }));
    expect(anns.every((a) => a.data.annotationType === "type")).toBe(true);
  });

  it("refuses invalid filters with typed errors", async () => {
    const bobApp = await s.rt.db.app.findFirstOrThrow({ where: { ownerId: bob.id } });
    const cases = [
      { filter: { from: "2025-02-01T00:00:00Z", to: "2025-01-01T00:00:00Z" }, path: "filter.to" },
      { filter: { appId: bobApp.id }, path: "filter.appId" },
      { filter: { appId: "00000000-0000-0000-0000-000000000000" }, path: "filter.appId" },
    ];
    const messages: string[] = [];
    for (const c of cases) {
      const r = await s.gql(StartExport, { input: { filter: c.filter } } as Input, alice.token);
      const res = r.data!.exportBackup;
      expect(res.__typename).toBe("ValidationError");
      if (res.__typename === "ValidationError") {
        expect(res.issues.map((i) => i.path)).toContain(c.path);
        messages.push(res.message.replace(/[0-9a-f-]{36}/g, "ID"));
      }
    }
    // another user's app and an app that does not exist read the same
    expect(messages[1]).toBe(messages[2]);
  });
});

describe("jobs and users", () => {
  it("another user's job is invisible, and so is its archive", async () => {
    const job = await exportAndWait({ filter: { sections: ["PERSONAS"] } });
    const r = await s.gql(JobQuery, { id: job.id }, bob.token);
    expect(r.data?.exportJob).toBeNull();
    const list = await s.gql(JobsQuery, {}, bob.token);
    expect(list.data!.exportJobs.edges.map((e) => e.node.id)).not.toContain(job.id);
  });

  it("users export only themselves; admins may name a user", async () => {
    const denied = await s.gql(StartExport, { input: { userId: alice.id } } as Input, bob.token);
    expect(denied.data!.exportBackup.__typename).toBe("ForbiddenError");
    const admin = await s.user("root@example.com", "ADMIN");
    const job = await exportAndWait({ userId: bob.id, filter: { sections: ["MEMORIES"] } }, admin.token);
    const { manifest } = await readNative((await download(job.downloadUrl!)).body);
    expect(manifest.exporter.userId).toBe(bob.id);
    expect(manifest.counts.memory).toBe(await s.rt.db.memory.count({ where: { ownerId: bob.id } }));
  });

  it("cancelExportJob: a pending job never runs; a finished one is a ValidationError; another user's, a NotFoundError", async () => {
    const pending = await s.rt.db.exportJob.create({ data: { ownerId: alice.id, requestedById: alice.id, format: "ZIP", filter: storedFilter({ sections: ["MEMORIES"] }) as object } });
    const r = await s.gql(CancelExport, { id: pending.id }, alice.token);
    expect(r.data!.cancelExportJob).toMatchObject({ __typename: "CancelExportJobSuccess", job: { id: pending.id, status: "FAILED", error: CANCELLED, downloadUrl: null } });
    // a start that queues what is pending does not run it
    await s.rt.exportJobs.recover();
    await s.rt.exportJobs.idle();
    expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: pending.id } })).toMatchObject({ status: "FAILED", error: CANCELLED, startedAt: null, storageKey: null });

    const done = await exportAndWait({ filter: { sections: ["PERSONAS"] } });
    const again = await s.gql(CancelExport, { id: done.id }, alice.token);
    expect(again.data!.cancelExportJob).toMatchObject({ __typename: "ValidationError", code: "VALIDATION_FAILED", message: expect.stringContaining("SUCCEEDED") });
    expect((await s.gql(JobQuery, { id: done.id }, alice.token)).data?.exportJob).toMatchObject({ status: "SUCCEEDED", downloadUrl: expect.any(String) });

    const theirs = await s.gql(CancelExport, { id: done.id }, bob.token);
    expect(theirs.data!.cancelExportJob.__typename).toBe("NotFoundError");
    expect((await s.gql(JobQuery, { id: done.id }, alice.token)).data?.exportJob?.status).toBe("SUCCEEDED");
  });

  it("deleteExportArchive: the archive goes now and its link stops working; again, nothing to do; a job without one is a ValidationError", async () => {
    const job = await exportAndWait({ filter: { sections: ["PERSONAS"] } });
    const { storageKey } = await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: job.id } });
    expect(await s.rt.store.exists(storageKey!)).toBe(true);
    expect((await download(job.downloadUrl!)).res.status).toBe(200);
    // another user's: unknown to them, and untouched
    expect((await s.gql(DeleteArchive, { id: job.id }, bob.token)).data!.deleteExportArchive.__typename).toBe("NotFoundError");
    expect(await s.rt.store.exists(storageKey!)).toBe(true);

    const r = await s.gql(DeleteArchive, { id: job.id }, alice.token);
    expect(r.data!.deleteExportArchive).toMatchObject({ __typename: "DeleteExportArchiveSuccess", job: { id: job.id, status: "EXPIRED", downloadUrl: null } });
    expect(await s.rt.store.exists(storageKey!)).toBe(false);
    expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ storageKey: null, sha256: job.sha256 });
    expect((await download(job.downloadUrl!)).res.status).toBe(404);
    expect((await s.gql(DeleteArchive, { id: job.id }, alice.token)).data!.deleteExportArchive.__typename).toBe("DeleteExportArchiveSuccess");

    const pending = await s.rt.db.exportJob.create({ data: { ownerId: alice.id, requestedById: alice.id, format: "ZIP", filter: storedFilter({ sections: ["MEMORIES"] }) as object } });
    try {
      const refused = await s.gql(DeleteArchive, { id: pending.id }, alice.token);
      expect(refused.data!.deleteExportArchive).toMatchObject({ __typename: "ValidationError", message: expect.stringContaining("PENDING") });
    } finally {
      await s.rt.exportJobs.cancel(pending.id);
    }
  });

  it("a restart starts the job that was running over, up to its last run, which fails with a reason", async () => {
    const running = (attempts: number) =>
      s.rt.db.exportJob.create({
        data: { ownerId: alice.id, requestedById: alice.id, format: "ZIP", filter: storedFilter({ sections: ["MEMORIES"] }) as object, status: "RUNNING", startedAt: new Date(), attempts, recordsWritten: 7 },
      });
    const job = await running(1);
    const spent = await running(MAX_ATTEMPTS);
    // PostgreSQL: one another server still runs (it holds the job's lock) is not this server's to take up
    const { database } = s.rt.config;
    const elsewhere = database.provider === "postgresql" ? await running(0) : null;
    const lock = database.provider === "postgresql" ? await takeRunLock(database, exportLock(elsewhere!.id)) : null;
    try {
      const recovered = await s.rt.exportJobs.recover();
      expect(recovered).toMatchObject({ resumed: 1, failed: 1 });
      await s.rt.exportJobs.idle();
      if (elsewhere) expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: elsewhere.id } })).toMatchObject({ status: "RUNNING", attempts: 0 });
    } finally {
      await lock?.release();
    }
    // started over from nothing, to a whole archive
    const r = await s.gql(JobQuery, { id: job.id }, alice.token);
    expect(r.data?.exportJob).toMatchObject({ status: "SUCCEEDED", error: null, downloadUrl: expect.any(String) });
    expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ attempts: 2 });
    const { manifest } = await readNative((await download(r.data!.exportJob!.downloadUrl!)).body);
    expect(manifest.counts.memory).toBe(await s.rt.db.memory.count({ where: { ownerId: alice.id } }));
    const failed = await s.gql(JobQuery, { id: spent.id }, alice.token);
    expect(failed.data?.exportJob).toMatchObject({ status: "FAILED", downloadUrl: null });
    expect(failed.data?.exportJob?.error).toMatch(new RegExp(`interrupted.*${MAX_ATTEMPTS} times`));
    // its server gone, the next start takes it up too
    if (elsewhere) {
      expect(await s.rt.exportJobs.recover()).toMatchObject({ resumed: 1, failed: 0 });
      await s.rt.exportJobs.idle();
      expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: elsewhere.id } })).toMatchObject({ status: "SUCCEEDED", attempts: 1 });
    }
  });

  it.runIf(!!process.env.DATABASE_URL?.startsWith("postgres"))("on PostgreSQL a running job holds its lock, and a job whose lock another server holds is left to that server", async () => {
    const { database } = s.rt.config;
    if (database.provider !== "postgresql") throw new Error("PostgreSQL only");
    const { default: pg } = await import("pg");
    const held = (id: string) => runLockHeld(database, exportLock(id));
    // the job's worker waits for this transaction to read the memories: the job is caught running
    const blocker = new pg.Client(pgPoolConfig(database));
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query(`LOCK TABLE "${database.schema}"."Memory" IN ACCESS EXCLUSIVE MODE`);
      const started = new Promise<string>((resolve) => s.rt.exportJobs.events.once("worker", ({ jobId }) => resolve(jobId)));
      const job = await s.rt.exportJobs.create({ requestedById: alice.id, ownerId: alice.id, format: "ZIP", filter: { sections: ["MEMORIES"] } });
      expect(await started).toBe(job.id);
      expect(await held(job.id)).toBe(true);
      await blocker.query("COMMIT");
      await s.rt.exportJobs.idle();
      expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ status: "SUCCEEDED" });
      expect(await held(job.id)).toBe(false);
    } finally {
      await blocker.end();
    }
    // a PENDING job another server has taken (its lock held, not claimed yet): this one does not run it
    const pending = await s.rt.db.exportJob.create({ data: { ownerId: alice.id, requestedById: alice.id, format: "ZIP", filter: storedFilter({ sections: ["MEMORIES"] }) as object } });
    const theirs = (await takeRunLock(database, exportLock(pending.id)))!;
    try {
      await s.rt.exportJobs.recover();
      await s.rt.exportJobs.idle();
      expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: pending.id } })).toMatchObject({ status: "PENDING" });
    } finally {
      await theirs.release();
    }
    await s.rt.exportJobs.recover();
    await s.rt.exportJobs.idle();
    expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: pending.id } })).toMatchObject({ status: "SUCCEEDED" });
  });
});

describe("exportStats", () => {
  it("counts exactly what the export writes, for the viewer only, and estimates its size within 25%", async () => {
    const stats = await s.gql(StatsQuery, {}, alice.token);
    const st = stats.data!.exportStats;
    expect(st.__typename).toBe("ExportStats");
    if (st.__typename !== "ExportStats") return;
    const job = await exportAndWait({ format: "ZIP" });
    expect(Object.fromEntries(st.counts.map((c) => [c.kind, c.count]))).toEqual(Object.fromEntries(job.counts.map((c) => [c.kind, c.count])));
    expect(st.estimatedBytes).toBeGreaterThan(job.byteSize! * 0.75);
    expect(st.estimatedBytes).toBeLessThan(job.byteSize! * 1.25);
    expect(st.warning).toBeNull();
    const agg = await s.rt.db.annotation.aggregate({ where: { ownerId: alice.id }, _sum: { keyframeCount: true, interpolatedFrameCount: true }, _count: { _all: true } });
    expect(st.keyframeCount).toBe(agg._sum.keyframeCount);
    expect(st.interpolatedFrameCount).toBe(agg._sum.interpolatedFrameCount);
    expect(st.interpolatedFrameCount).toBeGreaterThan(0);
    expect(st.sequenceCount).toBe(agg._count._all);

    const bobStats = await s.gql(StatsQuery, {}, bob.token);
    const b = bobStats.data!.exportStats;
    if (b.__typename === "ExportStats") expect(b.counts.find((c) => c.kind === "memory")?.count).toBe(await s.rt.db.memory.count({ where: { ownerId: bob.id } }));
  });

  it("is a typed error for a bad filter", async () => {
    const r = await s.gql(StatsQuery, { filter: { from: "2025-02-01T00:00:00Z", to: "2025-01-01T00:00:00Z" } }, alice.token);
    expect(r.data!.exportStats.__typename).toBe("ValidationError");
  });
});

describe("OPENMEMORY format", () => {
  it("has exactly the keys of OpenMemory's own archives and reads back to the same memories", async () => {
    const fixtureZip = await zipEntries(readFileSync(fixture("openmemory", "small.zip")));
    const job = await exportAndWait({ format: "OPENMEMORY" });
    expect(job.filename).toBe("memories_export_alice@example.com.zip");
    const ours = await zipEntries((await download(job.downloadUrl!)).body);
    expect([...ours.keys()]).toEqual([...fixtureZip.keys()]);
    const theirs = JSON.parse(fixtureZip.get("memories.json")!.toString());
    const mine = JSON.parse(ours.get("memories.json")!.toString());
    // pure ASCII, as Python's json.dumps writes it
    expect(/^[\x00-\x7f]*$/.test(ours.get("memories.json")!.toString("latin1"))).toBe(true);
    expect(Object.keys(mine)).toEqual(Object.keys(theirs));
    for (const section of ["apps", "categories", "memories", "memory_categories", "status_history", "access_controls"]) {
      expect(mine[section].length, section).toBeGreaterThan(0);
      expect(Object.keys(mine[section][0]).sort(), section).toEqual(Object.keys(theirs[section][0]).sort());
    }
    expect(Object.keys(mine.user).sort()).toEqual(Object.keys(theirs.user).sort());
    expect(Object.keys(mine.export_meta)).toEqual(Object.keys(theirs.export_meta));
    const jsonlTheirs = parseLines(gunzipSync(fixtureZip.get("memories.jsonl.gz")!).toString());
    const jsonlMine = parseLines(gunzipSync(ours.get("memories.jsonl.gz")!).toString());
    expect(Object.keys(jsonlMine[0])).toEqual(Object.keys(jsonlTheirs[0]));
    expect(jsonlMine.length).toBe(mine.memories.length);
    expect(mine.memories.length).toBe(await s.rt.db.memory.count({ where: { ownerId: alice.id } }));
    expect(mine.memories[0].created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/);
  });
});

const FollowExport = graphql(`
  subscription ExportProgress($id: ID!) {
    exportProgress(id: $id) {
      id
      status
      recordsWritten
      recordsTotal
      job {
        status
        sha256
      }
    }
  }
`);

describe("exportProgress subscription (SSE)", () => {
  it("streams progress until the job ends", async () => {
    const started = await s.gql(StartExport, { input: { format: "JSONL" } } as Input, alice.token);
    const r = started.data!.exportBackup;
    if (r.__typename !== "ExportBackupSuccess") throw new Error(r.__typename);
    const stream = await subscribe(s.url, alice.token, FollowExport, { id: r.job.id });
    expect(stream.contentType).toContain("text/event-stream");
    // the stream ends when the job does
    const { events, errors } = await stream.rest();
    expect(errors).toEqual([]);
    expect(events.length).toBeGreaterThan(0);
    const last = events.at(-1)!.exportProgress;
    expect(last.status).toBe("SUCCEEDED");
    expect(last.recordsWritten).toBe(last.recordsTotal);
    expect(last.job.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("does not follow another user's job", async () => {
    const started = await s.gql(StartExport, { input: { format: "JSONL", filter: { sections: ["PERSONAS"] } } } as Input, alice.token);
    const r = started.data!.exportBackup;
    if (r.__typename !== "ExportBackupSuccess") throw new Error(r.__typename);
    const { events, errors } = await (await subscribe(s.url, bob.token, FollowExport, { id: r.job.id })).rest();
    expect(events).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([`no export job ${r.job.id}`]);
  });
});
