// One measurement in a process of its own, so peak RSS belongs to it alone:
//   node --import tsx bench/child.ts '<json spec>'
// prints one line `BENCH_RESULT {json}` on stdout.
import { readFileSync, writeFileSync } from "node:fs";
import { RESULT_PREFIX, type ChildResult, type ChildSpec } from "./protocol.js";
import type { ServerJobRun } from "./server-job.js";
import { NullSink } from "./sink.js";

// VmHWM, not getrusage's maxRSS: Linux carries ru_maxrss across fork+exec, so a
// child spawned by a big parent would report the parent's size.
const maxRssMiB = () => {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
};

/** The inspector's sampling profiler, around the measured work only (what --cpu-prof writes, minus module loading). */
async function startProfiler() {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  return {
    async stop(path: string) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const SETTLE_MS = 1000;

async function main() {
  const spec = JSON.parse(process.argv[2]) as ChildSpec;
  // load the code under test before the clock starts (module loading is not the work);
  // the baseline loads no Prisma code at all
  const baseline = spec.measure === "baseline" ? await import("./baseline.js") : undefined;
  const exporter =
    spec.measure !== "baseline"
      ? await Promise.all([
          import("../src/engine/snapshot.js"),
          import("../src/engine/export.js"),
          import("../src/engine/kinds/index.js"),
          spec.variant ? import("./experiments/variant.js") : undefined,
        ])
      : undefined;
  const phases = spec.phases ? await import("./phases.js") : undefined;
  const driverOnly = spec.measure === "export-driver";
  // the export measurement is the server's job path (server-job.ts); variants still run in-process
  const jobs = spec.measure === "export" && !spec.variant ? await (await import("./server-job.js")).serverJobRunner(spec) : undefined;
  if (exporter && !spec.cold && !driverOnly && !jobs) {
    // A server has its Prisma engine running long before an export; a fresh process pays
    // once for compiling and starting it (≈0.4 s). Pay that before the clock, on a client
    // of its own: the export still opens its own connection and client, as it does in a server.
    const { openDb } = await import("../src/db/client.js");
    const warm = await openDb(spec.database);
    await warm.db.$transaction((tx) => tx.user.findUnique({ where: { id: spec.ownerId } }));
    await warm.close();
    // a server's engine has been idle before an export: let the warm-up's background work (V8
    // compiling what it ran, the client's teardown) finish, or its CPU lands in the measured window
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    if (spec.warmExport) {
      const [{ withSnapshot }, { writeExport }, { ALL_SECTIONS }, variant] = exporter;
      const filter = { sections: [...ALL_SECTIONS] };
      await withSnapshot(spec.database, (db) =>
        spec.variant
          ? variant!.writeExportVariant(db, spec.ownerId, filter, new NullSink(), spec.variant)
          : writeExport(db, { ownerId: spec.ownerId, filter, format: "ZIP" }, new NullSink()),
      );
    }
  }
  const setupRssMiB = maxRssMiB();
  const profiler = spec.profile ? await startProfiler() : undefined;
  const sink = new NullSink();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let result: Omit<ChildResult, "measure" | "outputBytes" | "seconds" | "cpuSeconds" | "maxRssMiB" | "setupRssMiB">;
  let worker: ServerJobRun["worker"] | undefined;
  if (baseline) {
    result =
      spec.database.provider === "sqlite"
        ? await baseline.sqliteBaseline(spec.database.file, spec.tables!, spec.ownerId, sink)
        : await baseline.postgresBaseline(spec.pool!, spec.tables!, spec.ownerId, sink);
  } else if (jobs) {
    const run = await jobs.run();
    worker = run.worker;
    sink.bytes = run.bytes;
    result = { records: run.records, perKind: run.perKind };
  } else {
    const [{ withSnapshot, withDriverSnapshot }, { writeExport }, { ALL_SECTIONS }, variant] = exporter!;
    const timer = phases?.installPhaseTimers();
    const filter = { sections: [...ALL_SECTIONS] };
    const r = await (driverOnly ? withDriverSnapshot : withSnapshot)(spec.database, (tx) => {
      const db = timer ? timer.wrapDb(tx) : tx;
      return spec.variant
        ? variant!.writeExportVariant(db, spec.ownerId, filter, sink, spec.variant)
        : writeExport(db, { ownerId: spec.ownerId, filter, format: "ZIP" }, sink);
    });
    if (!sink.writableFinished) await new Promise((r) => sink.once("finish", r));
    result = { records: r.records, perKind: r.counts as Record<string, number>, phases: timer?.report(performance.now() - t0) };
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const ownCpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (profiler) await profiler.stop(spec.profile!);
  await jobs?.close();
  // the server's job path: the export's memory is the worker's; the server's own is reported beside it
  const out: ChildResult = worker
    ? {
        measure: spec.measure,
        ...result,
        outputBytes: sink.bytes,
        seconds,
        cpuSeconds: ownCpuSeconds + worker.cpuSeconds,
        maxRssMiB: worker.peakRssMiB,
        setupRssMiB: worker.setupRssMiB,
        parentMaxRssMiB: maxRssMiB(),
        parentSetupRssMiB: setupRssMiB,
      }
    : { measure: spec.measure, ...result, outputBytes: sink.bytes, seconds, cpuSeconds: ownCpuSeconds, maxRssMiB: maxRssMiB(), setupRssMiB };
  process.stdout.write(RESULT_PREFIX + JSON.stringify(out) + "\n");
}

await main();
