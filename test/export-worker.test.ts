// Export jobs run in worker processes (src/jobs/worker*.ts): these tests
// fail if a job runs in the server's process, if a dead worker leaves its job
// hanging or succeeding, or if progress stops reaching subscribers.
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ALL_SECTIONS } from "../src/engine/kinds/index.js";
import { CANCELLED, ExportJobs } from "../src/jobs/export-jobs.js";
import { Workers } from "../src/jobs/workers.js";
import { JobWorker, WORKER_SOURCE, workerExecArgv } from "../src/jobs/worker-process.js";
import type { ExportDone } from "../src/jobs/worker-protocol.js";
import { storedFilter } from "../src/jobs/stored-filter.js";
import { createLogger } from "../src/logger.js";
import type { BlobStore } from "../src/storage/blob-store.js";
import { seedDemo } from "../src/seed/index.js";
import { readNative, sha256 } from "./support/archive.js";
import { gatedStore, type GatedStore } from "./support/gated-store.js";
import { until } from "./support/poll.js";
import { startTestServer, type TestServer } from "./support/server.js";

// Every driver snapshot opened in this (the server's) process goes through the spy: a job run
// here instead of in a worker would show up in it.
vi.mock("../src/engine/snapshot.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/engine/snapshot.js")>();
  return { ...real, withDriverSnapshot: vi.fn(real.withDriverSnapshot), withSnapshot: vi.fn(real.withSnapshot) };
});
const snapshots = await import("../src/engine/snapshot.js");

let s: TestServer;
let alice: { id: string; email: string; token: string };
let bob: { id: string; email: string; token: string };

beforeAll(async () => {
  s = await startTestServer();
  alice = await s.user("alice@example.com");
  bob = await s.user("bob@example.com");
  await seedDemo(s.rt.db, { userId: alice.id, scale: 800, seed: 3 });
  // big enough that its archive (about 2.5 MB) cannot fit in the pipes and buffers between a worker and a held store
  await seedDemo(s.rt.db, { userId: bob.id, scale: 20_000, seed: 4 });
});
afterAll(() => s.close());

async function gql<T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const res = await fetch(`${s.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

interface JobState {
  id: string;
  status: string;
  error: string | null;
  downloadUrl: string | null;
  sha256: string | null;
  progress: { recordsWritten: number; recordsTotal: number };
}

const jobQuery = "query ($id: ID!) { exportJob(id: $id) { id status error downloadUrl sha256 progress { recordsWritten recordsTotal } } }";

async function startExport(token: string, input: Record<string, unknown>): Promise<string> {
  const r = await gql<{ exportBackup: { __typename: string; job?: { id: string } } }>(
    "mutation ($input: ExportBackupInput!) { exportBackup(input: $input) { __typename ... on ExportBackupSuccess { job { id } } } }",
    { input },
    token,
  );
  if (!r.exportBackup.job) throw new Error(r.exportBackup.__typename);
  return r.exportBackup.job.id;
}

function finished(id: string, token: string): Promise<JobState> {
  return until(async () => {
    const job = (await gql<{ exportJob: JobState }>(jobQuery, { id }, token)).exportJob;
    return job.status === "SUCCEEDED" || job.status === "FAILED" ? job : null;
  }, `export job ${id}`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A job runner beside the server's, on the same database and progress events, writing through `store`. */
function jobsWith(store: BlobStore) {
  return new ExportJobs({ config: s.rt.config, db: s.rt.db, logger: createLogger("silent"), store, pubsub: s.rt.pubsub, workers: new Workers({ spareSeconds: 0 }) });
}

/** An export of bob's data started in `jobs`, caught mid-export: its first bytes reached the store, which holds the rest back. */
async function midExport(jobs: ExportJobs, gated: GatedStore, format: "ZIP" | "JSONL") {
  const pid = new Promise<number>((resolve) => jobs.events.once("worker", (e) => resolve(e.pid)));
  const job = await jobs.create({ requestedById: bob.id, ownerId: bob.id, format, filter: { sections: [...ALL_SECTIONS] } });
  const worker = await pid;
  await until(async () => gated.received() > 0, "the first archive bytes");
  return { job, worker };
}

describe("export jobs in worker processes", () => {
  it("runs each ZIP and JSONL job in a process of its own, which exits with the job; the server never opens a driver snapshot", async () => {
    vi.mocked(snapshots.withDriverSnapshot).mockClear();
    const pids = new Map<string, number>();
    const onWorker = (e: { jobId: string; pid: number }) => pids.set(e.jobId, e.pid);
    s.rt.exportJobs.events.on("worker", onWorker);
    try {
      for (const format of ["ZIP", "JSONL"]) {
        const id = await startExport(alice.token, { format });
        const job = await finished(id, alice.token);
        expect(job.status, job.error ?? "").toBe("SUCCEEDED");
        const pid = pids.get(id);
        expect(pid).toBeTypeOf("number");
        expect(pid).not.toBe(process.pid);
        // the job is done only once its worker has exited
        expect(alive(pid!)).toBe(false);
        const res = await fetch(job.downloadUrl!);
        expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(job.sha256);
      }
      expect(new Set(pids.values()).size).toBe(2);
      expect(snapshots.withDriverSnapshot).not.toHaveBeenCalled();
    } finally {
      s.rt.exportJobs.events.off("worker", onWorker);
    }
  });

  it("streams the worker's progress to an exportProgress subscription that was waiting before the job started", async () => {
    // a PENDING job nobody runs yet: the subscription is open before any progress can happen
    const job = await s.rt.db.exportJob.create({
      data: { ownerId: alice.id, requestedById: alice.id, format: "JSONL", filter: storedFilter({ sections: [...ALL_SECTIONS] }) as object },
    });
    const res = await fetch(`${s.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ query: "subscription ($id: ID!) { exportProgress(id: $id) { status recordsWritten recordsTotal } }", variables: { id: job.id } }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    type Event = { status: string; recordsWritten: number; recordsTotal: number };
    const events = () =>
      text
        .split("\n")
        .filter((l) => l.startsWith("data: ") && l.length > 6)
        .map((l) => (JSON.parse(l.slice(6)) as { data?: { exportProgress: Event } }).data?.exportProgress)
        .filter((e): e is Event => !!e);
    while (!events().length) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the subscription ended early: ${text}`);
      text += value;
    }
    expect(events()[0].status).toBe("PENDING");
    // the server's runner picks it up now
    await s.rt.exportJobs.recover();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const all = events();
    const last = all.at(-1)!;
    expect(last.status).toBe("SUCCEEDED");
    expect(last.recordsTotal).toBeGreaterThan(0);
    expect(last.recordsWritten).toBe(last.recordsTotal);
    // the total is known only to the worker (it counts in its snapshot): a RUNNING event that carries it came over IPC
    const running = all.filter((e) => e.status === "RUNNING");
    expect(running.length).toBeGreaterThan(0);
    expect(running[0].recordsTotal).toBe(last.recordsTotal);
  });

  it("fails the job with the reason when its worker is killed mid-export, leaves no archive, and the server keeps serving", async () => {
    const gated = gatedStore(s.rt.store);
    const jobs = jobsWith(gated.store);
    try {
      // bytes have reached the server, and the rest cannot (the store holds them): it is mid-export
      const { job, worker } = await midExport(jobs, gated, "ZIP");
      expect(jobs.workerPid(job.id)).toBe(worker);
      expect(alive(worker)).toBe(true);
      process.kill(worker, "SIGKILL");
      gated.release();
      await jobs.idle();
      const state = (await gql<{ exportJob: JobState }>(jobQuery, { id: job.id }, bob.token)).exportJob;
      expect(state.status).toBe("FAILED");
      expect(state.error).toMatch(new RegExp(`export worker \\(pid ${worker}\\) was killed by SIGKILL`));
      expect(state.downloadUrl).toBeNull();
      expect(await s.rt.store.exists(`exports/${job.id}.zip`)).toBe(false);
      expect(jobs.workerPid(job.id)).toBeUndefined();
    } finally {
      gated.release();
      await jobs.stop();
    }
    // the server's own runner and HTTP are unaffected
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const next = await finished(await startExport(alice.token, { format: "ZIP", filter: { sections: ["PERSONAS"] } }), alice.token);
    expect(next.status, next.error ?? "").toBe("SUCCEEDED");
  });

  it("stop() kills a running worker and queues its job again, which the next start runs over from the beginning", async () => {
    const gated = gatedStore(s.rt.store);
    const jobs = jobsWith(gated.store);
    const { job, worker } = await midExport(jobs, gated, "JSONL");
    await jobs.stop();
    gated.release();
    expect(alive(worker)).toBe(false);
    expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ status: "PENDING", attempts: 1, startedAt: null, recordsWritten: 0, error: null });
    expect(await s.rt.store.exists(`exports/${job.id}.jsonl.gz`)).toBe(false);
    // the next start
    const next = jobsWith(s.rt.store);
    try {
      expect(await next.recover()).toMatchObject({ resumed: 0, failed: 0 });
      await next.idle();
    } finally {
      await next.stop();
    }
    const state = (await gql<{ exportJob: JobState }>(jobQuery, { id: job.id }, bob.token)).exportJob;
    expect(state.status, state.error ?? "").toBe("SUCCEEDED");
    expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ attempts: 2 });
    expect(await s.rt.store.exists(`exports/${job.id}.jsonl.gz`)).toBe(true);
  });

  const cancelMutation =
    "mutation ($id: ID!) { cancelExportJob(id: $id) { __typename ... on CancelExportJobSuccess { job { id status error } } ... on Error { code message } } }";

  // which of the other runner's checks stops it (a progress write, or the final write finding the job cancelled) depends on timing: the outcome does not
  it("cancelExportJob ends a job another runner runs: FAILED as cancelled, no archive", async () => {
    const gated = gatedStore(s.rt.store);
    const jobs = jobsWith(gated.store);
    try {
      const { job, worker } = await midExport(jobs, gated, "ZIP");
      // through the server's GraphQL, whose runner does not run the job
      const r = await gql<{ cancelExportJob: { __typename: string; job?: { status: string; error: string } } }>(cancelMutation, { id: job.id }, bob.token);
      expect(r.cancelExportJob).toMatchObject({ __typename: "CancelExportJobSuccess", job: { status: "FAILED", error: CANCELLED } });
      gated.release();
      await jobs.idle();
      await until(async () => !alive(worker), "the worker's end");
      const state = (await gql<{ exportJob: JobState }>(jobQuery, { id: job.id }, bob.token)).exportJob;
      expect(state).toMatchObject({ status: "FAILED", error: CANCELLED, downloadUrl: null });
      expect(await s.rt.store.exists(`exports/${job.id}.zip`)).toBe(false);
    } finally {
      gated.release();
      await jobs.stop();
    }
  });

  it("cancel() on the runner of a job kills its worker at once", async () => {
    const gated = gatedStore(s.rt.store);
    const jobs = jobsWith(gated.store);
    try {
      const { job, worker } = await midExport(jobs, gated, "JSONL");
      expect(await jobs.cancel(job.id)).toBe(true);
      // the store still holds the archive's bytes back: only the cancel ends the worker
      await until(async () => !alive(worker), "the worker's end");
      gated.release();
      await jobs.idle();
      expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ status: "FAILED", error: CANCELLED, storageKey: null });
      expect(await s.rt.store.exists(`exports/${job.id}.jsonl.gz`)).toBe(false);
      // finished: nothing more to cancel
      expect(await jobs.cancel(job.id)).toBe(false);
    } finally {
      gated.release();
      await jobs.stop();
    }
  });

  it("a runner watching for pending jobs runs one that another server queued and did not run", async () => {
    // as a server that stopped leaves it: PENDING, in no live runner's queue
    const left = await s.rt.db.exportJob.create({ data: { ownerId: alice.id, requestedById: alice.id, format: "JSONL", filter: storedFilter({ sections: ["PERSONAS"] }) as object } });
    const jobs = jobsWith(s.rt.store);
    try {
      jobs.watchPending(50);
      await until(async () => (await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: left.id } })).status === "SUCCEEDED", "the left job, run by the watching runner");
    } finally {
      await jobs.stop();
    }
    expect(await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: left.id } })).toMatchObject({ attempts: 1, storageKey: `exports/${left.id}.jsonl.gz` });
    expect(await s.rt.store.exists(`exports/${left.id}.jsonl.gz`)).toBe(true);
  });

  it("a worker that fails reports why, and the job fails with it", async () => {
    // the worker reads another database than the server's: one without the tables
    const elsewhere =
      s.rt.config.database.provider === "sqlite"
        ? { provider: "sqlite" as const, file: `${s.rt.config.dataDir}/empty.db` }
        : { ...s.rt.config.database, schema: `${s.rt.config.database.schema}_missing` };
    const jobs = new ExportJobs({
      config: { ...s.rt.config, database: elsewhere },
      db: s.rt.db,
      logger: createLogger("silent"),
      store: s.rt.store,
      pubsub: s.rt.pubsub,
      workers: new Workers({ spareSeconds: 0 }),
    });
    try {
      const job = await jobs.create({ requestedById: alice.id, ownerId: alice.id, format: "ZIP", filter: { sections: ["MEMORIES"] } });
      await jobs.idle();
      const row = await s.rt.db.exportJob.findUniqueOrThrow({ where: { id: job.id } });
      expect(row.status).toBe("FAILED");
      // the driver's own message, carried over IPC (not a generic exit code)
      expect(row.error).toMatch(/no such table|does not exist/);
      expect(row.error).not.toMatch(/exited with code/);
    } finally {
      await jobs.stop();
    }
  });
});

describe("starting a worker", () => {
  it("runs the sources under tsx when not bundled (how it runs if esbuild is unavailable)", async () => {
    const worker = await JobWorker.spawn(WORKER_SOURCE);
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on("data", (c: Buffer) => chunks.push(c));
    const progress: number[] = [];
    const { result, stats } = await worker.run<ExportDone>(
      { type: "start", job: "export", database: s.rt.config.database, ownerId: alice.id, format: "ZIP", filter: storedFilter({ sections: [...ALL_SECTIONS] }), now: new Date().toISOString() },
      { sink, onProgress: (written) => progress.push(written) },
    );
    expect(stats.pid).toBe(worker.pid);
    expect(worker.alive).toBe(false);
    const { lines, manifest } = await readNative(Buffer.concat(chunks));
    expect(lines.length - 1).toBe(result.records);
    expect(manifest.counts).toEqual(result.counts);
    expect(progress.at(-1)).toBe(result.records);
  });

  it("gives a worker tsx's loader only when it runs sources, and never the parent's debugger", () => {
    const tsxFlags = ["--require", "/x/node_modules/tsx/dist/preflight.cjs", "--import", "file:///x/node_modules/tsx/dist/loader.mjs"];
    // npm start (the tsx CLI): the loader is there already
    expect(workerExecArgv("/app/src/jobs/worker.ts", tsxFlags)).toEqual(tsxFlags);
    // bin/stowage.js (tsx registered from code) and vitest: added, by absolute URL
    const added = workerExecArgv("/app/src/jobs/worker.ts", ["--conditions", "development"]);
    expect(added.slice(0, 2)).toEqual(["--conditions", "development"]);
    expect(added[2]).toBe("--import");
    expect(added[3]).toMatch(/^file:\/\/.*[\\/]tsx[\\/]/);
    // a bundle runs on plain node: tsx's flags go, whatever their spelling; others stay
    expect(workerExecArgv("/app/src/generated/worker.mjs", [...tsxFlags, "--import=tsx", "--max-semi-space-size=8"])).toEqual(["--max-semi-space-size=8"]);
    expect(workerExecArgv("/app/src/generated/worker.mjs", ["--inspect=9229", "--inspect-brk"])).toEqual([]);
  });
});
