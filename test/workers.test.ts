// The worker processes of exports and big imports, and the spare kept between jobs: real
// processes (the bundle), counted through JobWorker.spawn.
import { afterEach, describe, expect, it, vi } from "vitest";
import { JobWorker } from "../src/jobs/worker-process.js";
import { Workers } from "../src/jobs/workers.js";
import { until } from "./support/poll.js";

const spawned: JobWorker[] = [];
const spawn = JobWorker.spawn.bind(JobWorker);
vi.spyOn(JobWorker, "spawn").mockImplementation(async (entry?: string) => {
  const w = await spawn(entry);
  spawned.push(w);
  return w;
});

afterEach(() => {
  for (const w of spawned.splice(0)) w.kill();
  vi.mocked(JobWorker.spawn).mockClear();
});

describe("Workers", () => {
  it("hands out the spare a job left, already started, and starts a new one only without it", async () => {
    const workers = new Workers({ spareSeconds: 60 });
    const first = await workers.take();
    expect(spawned).toEqual([first]);
    workers.keepSpare();
    workers.keepSpare(); // one spare, however many jobs end
    await until(async () => spawned.length === 2, "the spare");
    const spare = spawned[1];
    expect(await workers.take()).toBe(spare);
    expect(spare.alive).toBe(true);
    // none left: the next one is new
    const third = await workers.take();
    expect(spawned).toEqual([first, spare, third]);
    workers.stop();
  });

  it("replaces a spare that died while it waited", async () => {
    const workers = new Workers({ spareSeconds: 60 });
    workers.keepSpare();
    await until(async () => spawned.length === 1, "the spare");
    const spare = spawned[0];
    spare.kill();
    await until(async () => !spare.alive, "the spare to die");
    const taken = await workers.take();
    expect(taken).not.toBe(spare);
    expect(taken.alive).toBe(true);
    workers.stop();
  });

  it("keeps no spare with spareSeconds 0, kills it after spareSeconds unused, and on stop", async () => {
    const none = new Workers({ spareSeconds: 0 });
    none.keepSpare();
    expect(JobWorker.spawn).not.toHaveBeenCalled();

    const idle = new Workers({ spareSeconds: 1 });
    idle.keepSpare();
    await until(async () => spawned.length === 1, "the spare");
    const retired = spawned[0];
    await until(async () => !retired.alive, "the unused spare to be killed");

    const stopping = new Workers({ spareSeconds: 60 });
    stopping.keepSpare();
    await until(async () => spawned.length === 2, "the spare");
    const stopped = spawned[1];
    stopping.stop();
    await until(async () => !stopped.alive, "stop to kill the spare");
    // and starts none after
    stopping.keepSpare();
    expect(JobWorker.spawn).toHaveBeenCalledTimes(2);
  });

  it("logs why a worker runs from its sources, whether it was taken or started as the spare", async () => {
    const note = "workers run from their sources under tsx: bundling failed (test)";
    const warned: unknown[][] = [];
    const workers = new Workers({ spareSeconds: 60, logger: { warn: (...args: unknown[]) => void warned.push(args) } as never });
    for (const start of [() => workers.take(), async () => (workers.keepSpare(), undefined)]) {
      vi.mocked(JobWorker.spawn).mockImplementationOnce(async () => {
        const w = await spawn();
        spawned.push(w);
        return Object.assign(w, { note });
      });
      warned.length = 0;
      await start();
      await until(async () => warned.length === 1, "the note");
      expect(warned[0]).toEqual([note]);
    }
    workers.stop();
  });
});
