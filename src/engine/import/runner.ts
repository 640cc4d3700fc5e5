// Which process runs an import, as its history record keeps it: a server that
// starts fails the imports its previous run left RUNNING, and must tell those
// from one a live process (the CLI, another server) is running right now. On
// PostgreSQL the runner holds the import's lock (db/run-lock.ts), which the
// database answers for wherever the runner is; on SQLite, whose file only
// processes of one machine share, the process is asked.
import { readFileSync } from "node:fs";
import { hostname, uptime } from "node:os";

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    // no procfs: when the machine booted, to the minute
    return `boot-${Math.round((Date.now() / 1000 - uptime()) / 60)}`;
  }
}

const host = hostname().replaceAll(" ", "_");
const boot = bootId();

/** The name of the lock an import's runner holds on PostgreSQL. */
export const importLock = (recordId: string) => `stowage:import:${recordId}`;

/** This process, as a history record's `runner`. */
export const thisRunner = `${host} ${boot} ${process.pid}`;

/**
 * True when `runner` is another process of this machine since its last boot
 * that is still alive. A process elsewhere cannot be asked: false, as for one
 * that is gone (a pid reused since is the one way to be wrong, and it errs on
 * leaving an import RUNNING until the next start).
 */
export function runnerAlive(runner: string | null): boolean {
  if (!runner) return false;
  const [h, b, p] = runner.split(" ");
  const pid = Number(p);
  if (h !== host || b !== boot || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, someone else's
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
