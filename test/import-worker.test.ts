// Big archives are previewed and imported in a worker process
// (src/jobs/import-worker.ts). Here every archive is "big"
// (IMPORT_WORKER_MIN_BYTES=0): the worker's plan is the in-process plan, its
// errors arrive as their own classes and typed GraphQL results, the server's
// own SQLite writes wait for its write lock without stopping the event loop,
// and a worker killed mid-import leaves the database as it was.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as turn } from "node:timers/promises";
import Sqlite from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { writesHeld } from "../src/db/write-gate.js";
import { InvalidArchiveError } from "../src/engine/errors.js";
import { importArchive, previewArchive, type ArchiveFile } from "../src/engine/import/service.js";
import { BIG_IMPORT_MIN_BYTES, planInWorker } from "../src/jobs/import-worker.js";
import { BIG_IMPORT_HEAP_FLAGS, JobWorker, WORKER_HEAP_FLAGS } from "../src/jobs/worker-process.js";
import { seedDemo } from "../src/seed/index.js";
import { readNative, type Line } from "./support/archive.js";
import { countsOf, exportArchive, jsonlAsWritten as jsonl, HistoryDoc as History, ImportDoc as Import, PreviewDoc as Preview, StageDoc as Stage } from "./support/client.js";
import { startTestServer, type TestServer } from "./support/server.js";

let s: TestServer;
let alice: { id: string; token: string };
let aliceZip: Buffer;
let aliceLines: Line[];
const dir = mkdtempSync(join(tmpdir(), "stowage-import-worker-"));

function onDisk(name: string, bytes: Buffer): ArchiveFile {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, filename: name, sha256: createHash("sha256").update(bytes).digest("hex"), byteSize: bytes.length };
}


const options = { mode: "SKIP" as const, strict: true, resolutions: [] };
const here = () => ({ ...s.rt.config, importWorkerMinBytes: Number.MAX_SAFE_INTEGER });

async function stage(token: string, bytes: Buffer, name: string) {
  const r = await s.upload(Stage, { file: null as never }, { file: { name, bytes } }, token);
  const staged = r.data!.stageUpload;
  if (staged.__typename !== "StagedUpload") throw new Error(`stage refused: ${JSON.stringify(r)}`);
  return staged.id;
}

beforeAll(async () => {
  s = await startTestServer({ IMPORT_WORKER_MIN_BYTES: "0" });
  alice = await s.user("alice@example.com");
  await seedDemo(s.rt.db, { userId: alice.id, scale: 600, seed: 23 });
  aliceZip = await exportArchive(s, alice.token, "ZIP");
  aliceLines = (await readNative(aliceZip)).lines;
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("imports in a worker process", () => {
  it("a big archive's import runs in a worker with a smaller young generation; smaller ones and previews, in the spare's", async () => {
    const file = onDisk("heap-flags.zip", aliceZip);
    const semiSpace = (pid: number) =>
      readFileSync(`/proc/${pid}/cmdline`, "utf8")
        .split("\0")
        .filter((a) => a.startsWith("--max-semi-space-size"));
    /** the heap flags of the worker process an import into a new user ran in, the archive said to be `byteSize` */
    const importFlags = async (email: string, byteSize: number) => {
      const u = await s.user(email);
      let flags: string[] = [];
      const r = await importArchive(s.rt, { requesterId: u.id, targetUserId: u.id, file: { ...file, byteSize }, options, onWorker: (pid) => (flags = semiSpace(pid)) });
      expect(r.error).toBeNull();
      expect(r.record.recordCount).toBe(aliceLines.length - 1);
      return flags;
    };
    expect(await importFlags("ivy@example.com", BIG_IMPORT_MIN_BYTES)).toEqual(BIG_IMPORT_HEAP_FLAGS);
    expect(await importFlags("jack@example.com", BIG_IMPORT_MIN_BYTES - 1)).toEqual(WORKER_HEAP_FLAGS);
    expect(BIG_IMPORT_HEAP_FLAGS).not.toEqual(WORKER_HEAP_FLAGS);
    // a preview keeps little: the spare's, whatever its size
    let flags: string[] = [];
    await planInWorker({ job: "preview", database: s.rt.config.database, path: file.path, byteSize: 2 ** 40, targetUserId: alice.id, options, onWorker: (pid) => (flags = semiSpace(pid)) });
    expect(flags).toEqual(WORKER_HEAP_FLAGS);
  });

  it("plans in the worker exactly what this process plans, and writes it", async () => {
    const bob = await s.user("bob@example.com");
    const file = onDisk("alice.zip", aliceZip);
    const previewed = { here: [] as number[][], worker: [] as number[][] };
    const inProcess = await previewArchive({ config: here() }, file, bob.id, options, (d, t) => previewed.here.push([d, t]));
    expect(inProcess.worker).toBeUndefined();
    const inWorker = await previewArchive({ config: s.rt.config }, file, bob.id, options, (d, t) => previewed.worker.push([d, t]));
    expect(inWorker.worker?.pid).toBeGreaterThan(0);
    expect(inWorker.worker?.pid).not.toBe(process.pid);
    expect(inWorker.plan).toEqual(inProcess.plan);
    // the preview's progress, from the worker as from this process: records decided, of those counted
    for (const events of [previewed.here, previewed.worker]) expect(events.at(-1)).toEqual([inProcess.plan.records, inProcess.plan.records]);

    let pid: number | undefined;
    const progress: number[] = [];
    const r = await importArchive(
      { db: s.rt.db, config: s.rt.config },
      { requesterId: bob.id, targetUserId: bob.id, file, options, onWorker: (p) => (pid = p), onProgress: (done) => progress.push(done) },
    );
    expect(r.error).toBeNull();
    expect(r.worker?.pid).toBe(pid);
    // what the shells report, from the record the import's commit wrote
    expect(r.outcome).toEqual({
      counts: inProcess.plan.counts,
      warnings: inProcess.plan.warnings,
      records: inProcess.plan.records,
      conflicts: inProcess.plan.conflictTotal,
      conflictGroups: inProcess.plan.conflictGroups,
    });
    expect(progress.at(-1)).toBe(inProcess.plan.records);
    expect(r.record).toMatchObject({ status: "SUCCEEDED", crossUser: true, exporterUserId: alice.id });
    expect(await s.rt.db.memory.count({ where: { ownerId: bob.id } })).toBe(aliceLines.filter((l) => l.type === "memory").length);
  });

  it("answers GraphQL clients the same way: a typed preview, an import, and a typed error naming the malformed lines", async () => {
    const carol = await s.user("carol@example.com");
    const uploadId = await stage(carol.token, aliceZip, "alice.zip");
    const p = (await s.gql(Preview, { uploadId, options: {} }, carol.token)).data!.previewImport;
    if (p.__typename !== "ImportPreview") throw new Error(JSON.stringify(p));
    const r = (await s.gql(Import, { input: { uploadId } }, carol.token)).data!.importBackup;
    if (r.__typename !== "ImportBackupSuccess") throw new Error(JSON.stringify(r));
    expect(countsOf(r.record.counts)).toEqual(countsOf(p.counts));

    const [meta, ...records] = aliceLines;
    const broken = jsonl([meta, records[0], "{not json", records[1], { type: "memory", data: { id: 7 } }]);
    const bad = await stage(carol.token, broken, "broken.jsonl");
    const failed = (await s.gql(Import, { input: { uploadId: bad } }, carol.token)).data!.importBackup;
    expect(failed).toMatchObject({ __typename: "InvalidArchiveError", line: 3 });
    if (failed.__typename !== "InvalidArchiveError") return;
    expect(failed.problems.map((x) => x.line)).toEqual([3, 5]);
    // the groups cross from the worker as the planner made them
    expect(failed.problemCount).toBe(2);
    expect(failed.problemGroups).toEqual([
      { kind: null, message: "not valid JSON", count: 1, lines: [3] },
      { kind: "memory", message: "id: Invalid input: expected string, received number", count: 1, lines: [5] },
    ]);
    // and so does the history
    const h = (await s.gql(History, {}, carol.token)).data!.importHistory.edges[0].node;
    expect(h).toMatchObject({ status: "FAILED", filename: "broken.jsonl" });
    expect(h.failure).toEqual({ __typename: "InvalidArchiveError", code: failed.code, message: failed.message, line: 3, problems: failed.problems, problemCount: 2, problemGroups: failed.problemGroups });
  });

  it("runs in the spare worker the job before it left ready, and leaves one for the next", async () => {
    const hank = await s.user("hank@example.com");
    const file = onDisk("alice-for-hank.zip", aliceZip);
    const spawn = vi.spyOn(JobWorker, "spawn");
    try {
      const previewed = await previewArchive(s.rt, file, hank.id, options);
      // as the preview ended a spare was started (the preview itself may have run in one an earlier job left)
      const before = spawn.mock.calls.length;
      expect(before).toBeGreaterThan(0);
      const spare = await spawn.mock.results[before - 1].value;
      expect(spare.pid).not.toBe(previewed.worker!.pid);
      let pid = 0;
      const r = await importArchive(s.rt, { requesterId: hank.id, targetUserId: hank.id, file, options, onWorker: (p) => (pid = p) });
      expect(r.error).toBeNull();
      expect(pid).toBe(spare.pid);
      expect(r.worker?.pid).toBe(spare.pid);
      // no process started for the import; one since, the next spare
      expect(spawn).toHaveBeenCalledTimes(before + 1);
    } finally {
      spawn.mockRestore();
    }
  });

  it("rejects with the planner's own error class", async () => {
    const dave = await s.user("dave@example.com");
    const file = onDisk("bad.jsonl", jsonl([aliceLines[0], "[1, 2"]));
    const r = await importArchive({ db: s.rt.db, config: s.rt.config }, { requesterId: dave.id, targetUserId: dave.id, file, options });
    expect(r.error).toBeInstanceOf(InvalidArchiveError);
    expect((r.error as InvalidArchiveError).problems[0].line).toBe(2);
    expect(r.record.status).toBe("FAILED");
  });
});

describe.runIf(!process.env.DATABASE_URL?.startsWith("postgres"))("the SQLite write lock across processes", () => {
  it("holds the server's own writes while the worker writes, without stopping the event loop; both land", async () => {
    const erin = await s.user("erin@example.com");
    const database = s.rt.config.database;
    if (database.provider !== "sqlite") throw new Error("SQLite only");
    const file = onDisk("alice-for-erin.zip", aliceZip);
    let finished = false;
    const importing = importArchive({ db: s.rt.db, config: s.rt.config }, { requesterId: erin.id, targetUserId: erin.id, file, options }).finally(() => (finished = true));
    while (!writesHeld(database.file) && !finished) await turn();
    expect(finished).toBe(false);
    let written = false;
    const write = s.rt.db.user.create({ data: { email: "written-meanwhile@example.com" } }).then(() => (written = true));
    // the loop turns (better-sqlite3's synchronous busy wait would stop it until the worker committed) and the write waits
    for (let i = 0; i < 20; i++) await turn();
    expect(written).toBe(false);
    const r = await importing;
    expect(r.error).toBeNull();
    await write;
    expect(await s.rt.db.user.count({ where: { email: "written-meanwhile@example.com" } })).toBe(1);
    expect(await s.rt.db.memory.count({ where: { ownerId: erin.id } })).toBe(aliceLines.filter((l) => l.type === "memory").length);
    expect(writesHeld(database.file)).toBe(false);
  });

  it("holds the server's writes while another process (a CLI import) holds the lock, without stopping the event loop", async () => {
    const database = s.rt.config.database;
    if (database.provider !== "sqlite") throw new Error("SQLite only");
    // a connection of its own, as another process has: the write gate of this one does not know of it
    const other = new Sqlite(database.file);
    other.exec("BEGIN IMMEDIATE");
    let written = false;
    try {
      const write = s.rt.db.user.create({ data: { email: "written-after-the-cli@example.com" } }).then(() => (written = true));
      for (let i = 0; i < 20; i++) await turn();
      expect(written).toBe(false);
      // reads go on meanwhile
      expect(await s.rt.db.user.count({ where: { email: "written-after-the-cli@example.com" } })).toBe(0);
      other.exec("COMMIT");
      await write;
    } finally {
      if (other.inTransaction) other.exec("ROLLBACK");
      other.close();
    }
    expect(await s.rt.db.user.count({ where: { email: "written-after-the-cli@example.com" } })).toBe(1);
  });
});

describe("a worker killed mid-import", () => {
  it("fails the import with the reason, leaves nothing of it behind, and frees the server's writes", async () => {
    // big enough that the first progress event (after 1,000 records) comes long before the commit
    const gina = await s.user("gina@example.com");
    await seedDemo(s.rt.db, { userId: gina.id, scale: 12_000, seed: 5 });
    const ginaZip = await exportArchive(s, gina.token, "ZIP");
    expect((await readNative(ginaZip)).lines.length).toBeGreaterThan(10_000);
    const frank = await s.user("frank@example.com");
    const file = onDisk("gina-for-frank.zip", ginaZip);
    let progressed!: () => void;
    const writing = new Promise<void>((resolve) => (progressed = resolve));
    let pid = 0;
    const importing = importArchive(
      { db: s.rt.db, config: s.rt.config },
      { requesterId: frank.id, targetUserId: frank.id, file, options, onWorker: (p) => (pid = p), onProgress: (done) => done > 0 && progressed() },
    );
    await writing;
    process.kill(pid, "SIGKILL");
    await expect(importing).rejects.toThrow(/import worker \(pid \d+\) was killed by SIGKILL/);
    const [record] = await s.rt.db.importRecord.findMany({ where: { targetUserId: frank.id } });
    expect(record).toMatchObject({ status: "FAILED" });
    expect(record.error).toMatch(/killed by SIGKILL/);
    expect(await s.rt.db.memory.count({ where: { ownerId: frank.id } })).toBe(0);
    // the server writes again at once
    await s.rt.db.user.create({ data: { email: "after-the-kill@example.com" } });
  });
});
