// Worker processes for exports and big imports, with one kept ready between
// jobs. A worker takes about 0.2–0.3 s to start and load its code (more under
// load): most of a small export's time, and a twentieth of a 100k-record
// import's. After a job, one spare is started for whichever job comes next;
// it is killed once it has waited `spareSeconds` unused.
import type { Logger } from "../logger.js";
import { JobWorker } from "./worker-process.js";

export interface WorkersOptions {
  /** how long a spare waits for a job (0: no spare) */
  spareSeconds: number;
  /** told why workers run from their sources under tsx (the bundle did not build), and of a spare that failed to start */
  logger?: Pick<Logger, "warn">;
}

export class Workers {
  private spare?: { worker: Promise<JobWorker>; timer: NodeJS.Timeout };
  private stopped = false;

  constructor(private readonly options: WorkersOptions) {}

  /**
   * A worker for a job: the spare when there is a live one, else a new
   * process. One with other heap flags than the spare's is always a new
   * process, and the spare waits for the next job.
   */
  async take(heapFlags?: readonly string[]): Promise<JobWorker> {
    if (heapFlags) return this.spawn(heapFlags);
    const spare = this.spare;
    this.spare = undefined;
    if (spare) {
      clearTimeout(spare.timer);
      const worker = await spare.worker.catch(() => undefined);
      if (worker?.alive) return worker;
    }
    return this.spawn();
  }

  /** Starts a spare unless there is one (call it after a job, so that it does not compete with one). */
  keepSpare(): void {
    const seconds = this.options.spareSeconds;
    if (this.stopped || this.spare || !seconds) return;
    const worker = this.spawn();
    worker.catch((err) => this.options.logger?.warn({ err }, "could not start a spare worker"));
    const timer = setTimeout(() => this.retire(), seconds * 1000);
    // the timer never keeps the process alive (tests, a CLI); stop() kills the spare itself
    timer.unref();
    this.spare = { worker, timer };
  }

  private async spawn(heapFlags?: readonly string[]): Promise<JobWorker> {
    const worker = await JobWorker.spawn(undefined, heapFlags);
    // said once per process, by the first worker that runs from its sources
    if (worker.note) this.options.logger?.warn(worker.note);
    return worker;
  }

  /** Kills the spare and starts no more. */
  stop(): void {
    this.stopped = true;
    this.retire();
  }

  private retire(): void {
    const spare = this.spare;
    this.spare = undefined;
    if (!spare) return;
    clearTimeout(spare.timer);
    void spare.worker.then(
      (w) => w.kill(),
      () => {},
    );
  }
}
