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
  logger?: Pick<Logger, "warn">;
}

export class Workers {
  private spare?: { worker: Promise<JobWorker>; timer: NodeJS.Timeout };
  private stopped = false;

  constructor(private readonly options: WorkersOptions) {}

  /** A worker for a job: the spare when there is a live one, else a new process. */
  async take(): Promise<JobWorker> {
    const spare = this.spare;
    this.spare = undefined;
    if (spare) {
      clearTimeout(spare.timer);
      const worker = await spare.worker.catch(() => undefined);
      if (worker?.alive) return worker;
    }
    return JobWorker.spawn();
  }

  /** Starts a spare unless there is one (call it after a job, so that it does not compete with one). */
  keepSpare(): void {
    const seconds = this.options.spareSeconds;
    if (this.stopped || this.spare || !seconds) return;
    const worker = JobWorker.spawn();
    worker.catch((err) => this.options.logger?.warn({ err }, "could not start a spare worker"));
    const timer = setTimeout(() => this.retire(), seconds * 1000);
    // the timer never keeps the process alive (tests, a CLI); stop() kills the spare itself
    timer.unref();
    this.spare = { worker, timer };
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
