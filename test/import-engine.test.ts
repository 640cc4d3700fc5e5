import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../src/auth/users.js";
import { InvalidArchiveError } from "../src/engine/errors.js";
import { INTERRUPTED } from "../src/engine/import/history.js";
import { MAX_LISTED_CONFLICTS } from "../src/engine/import/plan.js";
import { runImport, preview } from "../src/engine/import/run.js";
import { importArchive, recoverImports } from "../src/engine/import/service.js";
import { importLock, runnerOf, thisRunner } from "../src/engine/import/runner.js";
import { takeRunLock, type RunLock } from "../src/db/run-lock.js";
import { pgPoolConfig } from "../src/db/pg-config.js";
import { runLockHeld } from "./support/run-lock.js";
import type { ImportOptions } from "../src/engine/import/types.js";
import { engineRuntime, exportLines as baseExportLines, lineSource } from "./support/engine.js";
import { seedDemo } from "../src/seed/index.js";
import { matchRecords, sortedRecords, translated } from "./support/compare.js";
import { jsonl } from "./support/client.js";

const h = engineRuntime();
const exportLines = (ownerId: string) => baseExportLines(h.rt, ownerId);
const source = lineSource;

const opts = (o: Partial<ImportOptions> = {}): ImportOptions => ({ mode: "SKIP", resolutions: [], strict: true, ...o });

async function user(email: string) {
  return (await createUser(h.rt.db, { email })).user;
}

/** The lines as a JSONL archive on disk, in a directory of its own (for the test to remove). */
function archiveFile(lines: unknown[]) {
  const dir = mkdtempSync(join(tmpdir(), "stowage-engine-"));
  const path = join(dir, "archive.jsonl");
  writeFileSync(path, jsonl(lines));
  return { dir, file: { path, filename: "archive.jsonl", sha256: "0".repeat(64), byteSize: statSync(path).size } };
}

// a driver's deprecation (pg warns once a process) would be a failure to come with its next major
const warnings: string[] = [];
const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);
beforeAll(() => void process.on("warning", onWarning));
afterAll(() => void process.off("warning", onWarning));

describe("import engine", () => {
  it("export → import into a new user → export gives the same records except ids, and no id of the exporter", async () => {
    const alice = await user("alice@example.com");
    await seedDemo(h.rt.db, { userId: alice.id, scale: 1200, seed: 3 });
    const before = await exportLines(alice.id);
    const carol = await user("carol@example.com");

    const plan = await preview(h.rt.config.database, { targetUserId: carol.id, options: opts(), source: source(before) });
    expect(plan.crossUser).toBe(true);
    const totals = Object.values(plan.counts).reduce((a, c) => ({ create: a.create + c.create, remap: a.remap + c.remap, update: a.update + c.update, skip: a.skip + c.skip }), { create: 0, remap: 0, update: 0, skip: 0 });
    expect(totals).toEqual({ create: 0, remap: before.length - 1, update: 0, skip: 0 });

    const applied = await runImport(h.rt.config.database, { targetUserId: carol.id, options: opts(), source: source(before) });
    expect(applied.counts).toEqual(plan.counts);
    // an export is in dependency order: nothing waits
    expect(applied.deferred).toEqual([]);
    const after = await exportLines(carol.id);
    // who changed a memory's state is the importer now: the exporter is nobody here
    const expected = before.map((l) => (l.type === "memoryStatus" ? { ...l, data: { ...l.data, changedById: carol.id } } : l));
    const map = matchRecords(expected, after);
    expect(translated(expected, map)).toEqual(sortedRecords(after));
    const aliceIds = new Set([alice.id, ...before.slice(1).map((l) => l.data.id as string)]);
    const text = JSON.stringify(after.slice(1));
    const leaked = [...aliceIds].filter((id) => text.includes(id));
    expect(leaked.map((id) => `${before.find((l) => l.data.id === id)?.type ?? "user"} ${id} in ${after.find((l) => JSON.stringify(l).includes(id))?.type}`)).toEqual([]);
    // alice is untouched
    expect(sortedRecords(await exportLines(alice.id))).toEqual(sortedRecords(before));
  });

  it("a file in any order imports the same as one in dependency order", async () => {
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const before = await exportLines(alice.id);
    const reversed = [before[0], ...before.slice(1).reverse()];
    const erin = await user("erin@example.com");
    const plan = await runImport(h.rt.config.database, { targetUserId: erin.id, options: opts(), source: source(reversed) });
    expect(plan.deferred.length).toBeGreaterThan(0);
    const after = await exportLines(erin.id);
    const expected = before.map((l) => (l.type === "memoryStatus" ? { ...l, data: { ...l.data, changedById: erin.id } } : l));
    expect(translated(expected, matchRecords(expected, after))).toEqual(sortedRecords(after));
  });

  it("a claim citing a later claim ends up with the cited claim's new id, and the claims under it import too", async () => {
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const lines = await exportLines(alice.id);
    const claimAt = (i: number) => lines[i].type === "claim";
    // a parent claim with a child later in the file, citing the file's last claim
    const parentAt = lines.findIndex((l, i) => claimAt(i) && lines.slice(i + 1).some((c) => c.type === "claim" && c.data.parentClaimId === l.data.id));
    const lastClaim = lines.findLastIndex((_, i) => claimAt(i));
    const childAt = lines.findIndex((c) => c.type === "claim" && c.data.parentClaimId === lines[parentAt].data.id);
    expect(parentAt).toBeGreaterThan(0);
    expect(childAt).toBeLessThan(lastClaim);
    const cited = lines[lastClaim].data.id as string;
    const parent = lines[parentAt];
    // in prose as written: in lower and in upper case
    lines[parentAt] = { ...parent, data: { ...parent.data, text: `see ${cited} (${cited.toUpperCase()})`, gloss: [{ type: "claimRef", content: cited, refType: "claim", refClaimId: cited }] } };
    lines[lastClaim] = { ...lines[lastClaim], data: { ...lines[lastClaim].data, text: "the cited claim", gloss: [] } };
    const gina = await user("gina@example.com");
    // a line per page: the cited claim is decided pages after the claims that wait for it
    await runImport(h.rt.config.database, { targetUserId: gina.id, options: opts(), source: lineSource(lines, 1) });
    const after = await exportLines(gina.id);
    const byText = (t: string) => after.find((l) => l.type === "claim" && l.data.text === t)!;
    const citedAfter = byText("the cited claim").data.id as string;
    const parentAfter = byText(`see ${citedAfter} (${citedAfter})`);
    expect(parentAfter.data.gloss).toEqual([{ type: "claimRef", content: citedAfter, refType: "claim", refClaimId: citedAfter }]);
    expect(after.filter((l) => l.type === "claim" && l.data.parentClaimId === parentAfter.data.id).length).toBeGreaterThan(0);
    expect(JSON.stringify(after)).not.toContain(cited);
    expect(JSON.stringify(after)).not.toContain(cited.toUpperCase());
  });

  it("a record citing a later one by an id that is no UUID gets its new id there, and a text that only holds the same word keeps it", async () => {
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const uuid = (await exportLines(alice.id)).findLast((l) => l.type === "claim")!.data.id as string;
    // the last claim's id, wherever the file has it, made one of another shape
    const lines = (await exportLines(alice.id)).map((l) => JSON.parse(JSON.stringify(l).replaceAll(uuid, "cited-later")) as typeof l);
    const first = lines.findIndex((l) => l.type === "claim");
    const last = lines.findLastIndex((l) => l.type === "claim");
    lines[first] = { ...lines[first], data: { ...lines[first].data, text: "about cited-later", gloss: [{ type: "claimRef", content: "cited-later", refType: "claim", refClaimId: "cited-later" }] } };
    lines[last] = { ...lines[last], data: { ...lines[last].data, text: "the cited claim", gloss: [] } };
    const jack = await user("jack@example.com");
    await runImport(h.rt.config.database, { targetUserId: jack.id, options: opts(), source: lineSource(lines, 1) });
    const after = await exportLines(jack.id);
    const citedAfter = after.find((l) => l.type === "claim" && l.data.text === "the cited claim")!.data.id as string;
    expect(citedAfter).not.toBe("cited-later");
    // prose is searched for UUIDs only: the word stays, the reference moves
    expect(after.find((l) => l.type === "claim" && l.data.text === "about cited-later")!.data.gloss).toEqual([{ type: "claimRef", content: citedAfter, refType: "claim", refClaimId: citedAfter }]);
  });

  it("a text citing a later record whose id another record of the file merges into gets each id's own new one", async () => {
    // the target holds persona X; the file has persona Y (X's name: merged into X), then an app whose
    // description names Y and X, then persona X again, made a new one: Y's X and X's new id must not be confused
    const kim = await user("kim@example.com");
    const x = randomUUID();
    const y = randomUUID();
    await h.rt.db.persona.create({ data: { id: x, ownerId: kim.id, name: "held" } });
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const sample = await exportLines(alice.id);
    const persona = sample.find((l) => l.type === "persona")!.data;
    const app = sample.find((l) => l.type === "app")!.data;
    const lines = [
      { type: "metadata", data: { ...sample[0].data, exporterUserId: kim.id } },
      { type: "persona", data: { ...persona, id: y, name: "held" } },
      { type: "app", data: { ...app, id: randomUUID(), name: "citing", description: `${y} and ${x}` } },
      { type: "persona", data: { ...persona, id: x, name: "made anew" } },
    ];
    const planned = await preview(h.rt.config.database, { targetUserId: kim.id, options: opts(), source: source(lines) });
    const duplicate = planned.conflicts.find((c) => c.type === "DuplicateIdConflict" && c.kind === "persona")!;
    expect(planned.conflicts.find((c) => c.type === "NaturalKeyConflict")).toMatchObject({ kind: "persona", sourceId: y, existingId: x, resolution: "MERGE" });
    await runImport(h.rt.config.database, { targetUserId: kim.id, options: opts({ resolutions: [{ conflictId: duplicate.id, resolution: "CREATE_NEW" }] }), source: lineSource(lines, 1) });
    const made = await h.rt.db.persona.findFirstOrThrow({ where: { ownerId: kim.id, name: "made anew" } });
    expect(made.id).not.toBe(x);
    expect((await h.rt.db.app.findFirstOrThrow({ where: { ownerId: kim.id, name: "citing" } })).description).toBe(`${x} and ${made.id}`);
  });

  it("re-importing your own archive in SKIP mode changes nothing", async () => {
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const before = await exportLines(alice.id);
    const planned = await preview(h.rt.config.database, { targetUserId: alice.id, options: opts(), source: source(before) });
    expect(planned.conflicts.length).toBe(planned.conflictTotal);
    expect(planned.conflicts.every((c) => c.type === "DuplicateIdConflict" && c.resolution === "SKIP")).toBe(true);
    const progress: number[][] = [];
    const plan = await runImport(h.rt.config.database, { targetUserId: alice.id, options: opts(), source: source(before, 250), onProgress: (d, t) => progress.push([d, t]) });
    expect(plan.crossUser).toBe(false);
    for (const c of Object.values(plan.counts)) expect(c).toMatchObject({ create: 0, update: 0, remap: 0 });
    // nothing is written, and the import still shows its progress: records done, skipped ones too
    expect(plan.records).toBeGreaterThan(1000);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.map(([d]) => d)).toEqual(progress.map(([d]) => d).sort((a, b) => a - b));
    expect(progress.at(-1)).toEqual([plan.records, plan.records]);
    // an import lists no conflict its resolutions do not name, and counts them all
    expect(plan.conflicts).toEqual([]);
    expect(plan.conflictTotal).toBe(planned.conflictTotal);
    expect(sortedRecords(await exportLines(alice.id))).toEqual(sortedRecords(before));
  });

  it("OVERWRITE mode puts the archive's values back", async () => {
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const before = await exportLines(alice.id);
    const m = await h.rt.db.memory.findFirstOrThrow({ where: { ownerId: alice.id } });
    await h.rt.db.memory.update({ where: { id: m.id }, data: { content: "changed after the backup", metadata: { x: 1 } } });
    const plan = await runImport(h.rt.config.database, { targetUserId: alice.id, options: opts({ mode: "OVERWRITE" }), source: source(before) });
    expect(plan.counts.memory?.update).toBe(before.filter((l) => l.type === "memory").length);
    expect(sortedRecords(await exportLines(alice.id))).toEqual(sortedRecords(before));
  });

  it("a failure in the middle leaves the database unchanged", async () => {
    const dave = await user("dave@example.com");
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const lines = await exportLines(alice.id);
    // valid for the planner, refused by the database halfway through: a memory with an app id
    // that only exists as a placeholder-less missing reference resolved to FAIL
    const broken = [...lines];
    const i = broken.findIndex((l) => l.type === "memory") + 50;
    broken[i] = { type: "memory", data: { ...broken[i].data, appId: "00000000-0000-4000-8000-000000000000" } };
    await expect(
      runImport(h.rt.config.database, { targetUserId: dave.id, options: opts({ resolutions: [{ kind: "memory", resolution: "FAIL" }] }), source: source(broken) }),
    ).rejects.toBeInstanceOf(InvalidArchiveError);
    expect(await h.rt.db.memory.count({ where: { ownerId: dave.id } })).toBe(0);
    expect(await h.rt.db.app.count({ where: { ownerId: dave.id } })).toBe(0);
  });

  it("an insert the database refuses halfway fails the import with that insert's error and leaves nothing", async () => {
    const hana = await user("hana@example.com");
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const lines = await exportLines(alice.id);
    const memories = lines.flatMap((l, i) => (l.type === "memory" ? [i] : []));
    // batches before it are already written, those after it queued behind it (PostgreSQL keeps several in flight)
    const i = memories[Math.floor(memories.length / 2)];
    lines[i] = { type: "memory", data: { ...lines[i].data, content: "the trigger refuses this" } };
    const sqlite = h.rt.config.database.provider === "sqlite";
    const ddl = sqlite
      ? [`CREATE TRIGGER refuse_memory BEFORE INSERT ON "Memory" WHEN NEW.content = 'the trigger refuses this' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END`]
      : [
          `CREATE FUNCTION refuse_memory() RETURNS trigger AS $$ BEGIN IF NEW.content = 'the trigger refuses this' THEN RAISE EXCEPTION 'refused by trigger'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
          `CREATE TRIGGER refuse_memory BEFORE INSERT ON "Memory" FOR EACH ROW EXECUTE FUNCTION refuse_memory()`,
        ];
    const record = await h.rt.db.importRecord.create({
      data: { requestedById: hana.id, targetUserId: hana.id, filename: "a.zip", sha256: "0".repeat(64), byteSize: 1n, format: "ZIP", mode: "SKIP", options: {}, status: "RUNNING" },
    });
    const history = { recordId: record.id, format: "ZIP" as const };
    for (const sql of ddl) await h.rt.db.$executeRawUnsafe(sql);
    try {
      await expect(runImport(h.rt.config.database, { targetUserId: hana.id, options: opts(), source: source(lines), history })).rejects.toThrow(/refused by trigger/);
    } finally {
      await h.rt.db.$executeRawUnsafe(sqlite ? `DROP TRIGGER refuse_memory` : `DROP TRIGGER refuse_memory ON "Memory"`);
      if (!sqlite) await h.rt.db.$executeRawUnsafe(`DROP FUNCTION refuse_memory()`);
    }
    expect(await h.rt.db.memory.count({ where: { ownerId: hana.id } })).toBe(0);
    expect(await h.rt.db.app.count({ where: { ownerId: hana.id } })).toBe(0);
    // the record's success was to commit with the rows: it did not
    expect(await h.rt.db.importRecord.findUniqueOrThrow({ where: { id: record.id } })).toMatchObject({ status: "RUNNING", counts: null, finishedAt: null });
    // nothing half-done is left to stop the same archive importing once the database takes it
    const plan = await runImport(h.rt.config.database, { targetUserId: hana.id, options: opts(), source: source(lines), history });
    expect(plan.counts.memory?.remap).toBe(memories.length);
    // committed with the rows, before runImport returned: no later write is needed for the history to tell the truth
    expect(await h.rt.db.importRecord.findUniqueOrThrow({ where: { id: record.id } })).toMatchObject({
      status: "SUCCEEDED",
      format: "ZIP",
      crossUser: true,
      exporterUserId: alice.id,
      counts: plan.counts,
      finishedAt: expect.any(Date),
    });
  });

  it("recoverImports (run as the server starts) fails the imports left RUNNING, and only those", async () => {
    const { database } = h.rt.config;
    const pg = database.provider === "postgresql";
    const ivan = await user("ivan@example.com");
    const base = { requestedById: ivan.id, targetUserId: ivan.id, filename: "a.zip", sha256: "0".repeat(64), byteSize: 1n, format: "ZIP", mode: "SKIP", options: {} } as const;
    // PostgreSQL: a runner is alive while it holds its import's lock, wherever it runs; SQLite: while its process on this machine is
    const locks: RunLock[] = [];
    const running = async (runner: string | null, holding: boolean, startedAt?: Date) => {
      const r = await h.rt.db.importRecord.create({ data: { ...base, status: "RUNNING", runner, startedAt } });
      if (pg && holding) locks.push((await takeRunLock(database, importLock(r.id)))!);
      return r;
    };
    const orphan = await running(null, false);
    const done = await h.rt.db.importRecord.create({ data: { ...base, status: "SUCCEEDED", finishedAt: new Date() } });
    const serverStart = new Date();
    // one the new server (or the CLI) began after it started: running, not left over
    const live = await running(null, false, new Date(serverStart.getTime() + 1000));
    // one a live process of this machine runs (the CLI's), started before the server: left running
    const cli = await running(runnerOf(process.ppid), true);
    // the same, as records written before runners kept their start time name it
    const cliByPid = await running(runnerOf(process.ppid).replace(/ \S+$/, ""), true);
    // one of a process gone: failed
    const exited = spawnSync(process.execPath, ["-e", ""]).pid!;
    const gone = await running(runnerOf(exited), false);
    // one whose pid a later process holds now (the pid was reused): failed
    const reused = await running(runnerOf(process.ppid).replace(/ \S+$/, " 1"), false);
    // one of another machine (another server, a CLI in another container): PostgreSQL knows it runs, SQLite cannot ask
    const elsewhere = await running(`elsewhere ${thisRunner.split(" ")[1]} ${process.ppid}`, true);
    const kept = pg ? [live, cli, cliByPid, elsewhere] : [live, cli, cliByPid];
    const failed = pg ? [orphan, gone, reused] : [orphan, gone, reused, elsewhere];
    expect(await recoverImports(h.rt.db, database, new Date(serverStart.getTime() + 500))).toBe(failed.length);
    for (const r of kept) expect(await h.rt.db.importRecord.findUniqueOrThrow({ where: { id: r.id } })).toEqual(r);
    for (const r of failed) expect(await h.rt.db.importRecord.findUniqueOrThrow({ where: { id: r.id } })).toMatchObject({ status: "FAILED", error: INTERRUPTED, finishedAt: expect.any(Date) });
    expect(await h.rt.db.importRecord.findUniqueOrThrow({ where: { id: done.id } })).toEqual(done);
    if (!pg) return;
    // the runners' connections end (their processes died, say): their imports are left over now
    for (const l of locks) await l.release();
    expect(await recoverImports(h.rt.db, database, new Date(serverStart.getTime() + 500))).toBe(3);
    for (const r of [cli, cliByPid, elsewhere]) expect(await h.rt.db.importRecord.findUniqueOrThrow({ where: { id: r.id } })).toMatchObject({ status: "FAILED", error: INTERRUPTED });
  });

  it.runIf(!!process.env.DATABASE_URL?.startsWith("postgres"))("on PostgreSQL an import holds its lock from before its record exists until it has finished", async () => {
    const { database } = h.rt.config;
    if (database.provider !== "postgresql") throw new Error("PostgreSQL only");
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const judy = await user("judy@example.com");
    const { dir, file } = archiveFile(await exportLines(alice.id));
    const { default: pg } = await import("pg");
    // the import's inserts of memories wait for this transaction: the import is caught running
    const blocker = new pg.Client(pgPoolConfig(database));
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query(`LOCK TABLE "${database.schema}"."Memory" IN SHARE MODE`);
    let started!: (id: string) => void;
    const recordId = new Promise<string>((resolve) => (started = resolve));
    const importing = importArchive({ db: h.rt.db, config: h.rt.config }, { requesterId: judy.id, targetUserId: judy.id, file, options: opts(), onStart: (r) => started(r.id) });
    try {
      const id = await recordId;
      expect(await runLockHeld(database, importLock(id))).toBe(true);
      // a server starting now leaves it running
      await recoverImports(h.rt.db, database);
      expect(await h.rt.db.importRecord.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "RUNNING" });
      await blocker.query("COMMIT");
      const result = await importing;
      expect(result.error).toBeNull();
      expect(result.record).toMatchObject({ id, status: "SUCCEEDED" });
      expect(await runLockHeld(database, importLock(id))).toBe(false);
    } finally {
      await blocker.end();
      await importing.catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(!!process.env.DATABASE_URL?.startsWith("postgres"))("on PostgreSQL a runner whose lock connection is lost takes its lock back", async () => {
    const { database } = h.rt.config;
    if (database.provider !== "postgresql") throw new Error("PostgreSQL only");
    const name = importLock(randomUUID());
    const { default: pg } = await import("pg");
    const admin = new pg.Client(pgPoolConfig(database));
    await admin.connect();
    // the backend holding the lock: advisory locks on a 64-bit key show it split in two 32-bit halves
    const holder = async () =>
      (
        await admin.query<{ pid: number }>(
          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)",
          [name],
        )
      ).rows[0]?.pid;
    const lock = (await takeRunLock(database, name))!;
    try {
      const first = await holder();
      expect(first).toEqual(expect.any(Number));
      await admin.query("SELECT pg_terminate_backend($1)", [first]);
      // held again, by another backend: the runner's new connection
      await expect.poll(async () => [first, undefined].includes(await holder()), { timeout: 10_000, interval: 50 }).toBe(false);
      // a server starting now leaves the job alone
      expect(await runLockHeld(database, name)).toBe(true);
    } finally {
      await lock.release();
    }
    expect(await holder()).toBeUndefined();
    await admin.end();
  });

  it.runIf(!!process.env.DATABASE_URL?.startsWith("postgres"))("a worker lost right after its COMMIT: the import succeeded, and says so from its record", async () => {
    const { database } = h.rt.config;
    if (database.provider !== "postgresql") throw new Error("PostgreSQL only");
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const kate = await user("kate-lost@example.com");
    const lines = await exportLines(alice.id);
    const { dir, file } = archiveFile(lines);
    const { default: pg } = await import("pg");
    const admin = new pg.Client(pgPoolConfig(database));
    await admin.connect();
    // the import's COMMIT runs a deferred trigger that waits for a lock this test holds: the worker is stopped there, its work committing
    const key = 770077007;
    const q = `"${database.schema}"`;
    await admin.query(`CREATE FUNCTION ${q}.test_hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(${key}); RETURN NULL; END $$`);
    await admin.query(
      `CREATE CONSTRAINT TRIGGER test_hold_commit AFTER UPDATE ON ${q}."ImportRecord" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'SUCCEEDED') EXECUTE FUNCTION ${q}.test_hold_commit()`,
    );
    await admin.query("SELECT pg_advisory_lock($1)", [key]);
    let pid!: (n: number) => void;
    const workerPid = new Promise<number>((resolve) => (pid = resolve));
    const importing = importArchive(
      { db: h.rt.db, config: { ...h.rt.config, importWorkerMinBytes: 0 } },
      { requesterId: kate.id, targetUserId: kate.id, file, options: opts(), onWorker: (n) => pid(n) },
    );
    try {
      const worker = await workerPid;
      const committing = async () => (await admin.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1", [key])).rowCount === 1;
      while (!(await committing())) await new Promise((r) => setTimeout(r, 20));
      process.kill(worker, "SIGKILL");
      await admin.query("SELECT pg_advisory_unlock($1)", [key]);
      const result = await importing;
      expect(result.error).toBeNull();
      expect(result.record.status).toBe("SUCCEEDED");
      const memories = lines.filter((l) => l.type === "memory").length;
      expect(result.outcome).toMatchObject({ records: lines.length - 1, conflicts: lines.length - 1, counts: { memory: { create: 0, update: 0, skip: 0, remap: memories } } });
      expect(await h.rt.db.memory.count({ where: { ownerId: kate.id } })).toBe(memories);
    } finally {
      await admin.query("SELECT pg_advisory_unlock_all()");
      await importing.catch(() => {});
      await admin.query(`DROP TRIGGER IF EXISTS test_hold_commit ON ${q}."ImportRecord"`);
      await admin.query(`DROP FUNCTION IF EXISTS ${q}.test_hold_commit()`);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // last: every import of this file has run
  it("lists the first MAX_LISTED_CONFLICTS conflicts and counts them all", async () => {
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const [metadata, ...records] = await exportLines(alice.id);
    const category = records.find((l) => l.type === "category")!;
    const n = MAX_LISTED_CONFLICTS + 25;
    const many = Array.from({ length: n }, (_, i) => ({ type: "category", data: { ...category.data, id: randomUUID(), name: `many ${i}` } }));
    const dave = await user("dave-many@example.com");
    const plan = await preview(h.rt.config.database, { targetUserId: dave.id, options: opts(), source: source([metadata, ...many]) });
    expect(plan.conflicts).toHaveLength(MAX_LISTED_CONFLICTS);
    expect(plan.conflictTotal).toBe(n);
    expect(plan.conflicts.every((c) => c.type === "ForeignRecordConflict")).toBe(true);
    expect(plan.counts.category).toEqual({ create: 0, update: 0, skip: 0, remap: n });
    // the groups tell of them all, the unlisted 25 too
    expect(plan.conflictGroups).toEqual([{ type: "ForeignRecordConflict", kind: "category", resolution: "CREATE_NEW", count: n, lines: Array.from({ length: 20 }, (_, i) => i + 2) }]);
  });

  it("an import checks the resolutions named by id, even of a conflict with one way out, and lists only those", async () => {
    const alice = await h.rt.db.user.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    const [metadata, ...records] = await exportLines(alice.id);
    const category = records.find((l) => l.type === "category")!;
    const lines = [metadata, ...[0, 1, 2].map((i) => ({ type: "category", data: { ...category.data, id: randomUUID(), name: `named ${i}` } }))];
    const fay = await user("fay-named@example.com");
    const planned = await preview(h.rt.config.database, { targetUserId: fay.id, options: opts(), source: source(lines) });
    const second = planned.conflicts[1];
    expect(second).toMatchObject({ type: "ForeignRecordConflict", allowedResolutions: ["CREATE_NEW"] });
    await expect(runImport(h.rt.config.database, { targetUserId: fay.id, options: opts({ resolutions: [{ conflictId: second.id, resolution: "SKIP" }] }), source: source(lines) })).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      message: expect.stringContaining("SKIP is not allowed for ForeignRecordConflict"),
    });
    expect(await h.rt.db.category.count({ where: { ownerId: fay.id } })).toBe(0);
    const plan = await runImport(h.rt.config.database, { targetUserId: fay.id, options: opts({ resolutions: [{ conflictId: second.id, resolution: "CREATE_NEW" }] }), source: source(lines) });
    expect(plan.conflicts).toEqual([{ ...second, resolution: "CREATE_NEW" }]);
    expect(plan.conflictTotal).toBe(3);
    expect(await h.rt.db.category.count({ where: { ownerId: fay.id } })).toBe(3);
  });

  it("imports without a warning from the drivers", () => {
    expect(warnings).toEqual([]);
  });
});
