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

/**
 * When a process started, in clock ticks since boot (/proc/PID/stat's 22nd
 * field): with its pid, it names one process, not whichever holds that pid
 * now. "-" where there is no procfs (or no such process).
 */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name, field 2, is in parentheses and may hold spaces or parentheses itself
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "-";
  } catch {
    return "-";
  }
}

/** A process of this machine, as a history record's `runner` names it. */
export const runnerOf = (pid: number) => `${host} ${boot} ${pid} ${startTime(pid)}`;

/** This process, as a history record's `runner`. */
export const thisRunner = runnerOf(process.pid);

/**
 * True when `runner` is another process of this machine since its last boot
 * that is still alive: the same pid, started at the same time (a pid reused
 * since names another process). A process elsewhere cannot be asked: false,
 * as for one that is gone. Records written before runners kept their start
 * time are asked by pid alone.
 */
export function runnerAlive(runner: string | null): boolean {
  if (!runner) return false;
  const [h, b, p, started] = runner.split(" ");
  const pid = Number(p);
  if (h !== host || b !== boot || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  if (started && started !== "-") {
    const now = startTime(pid);
    if (now !== "-") return now === started;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, someone else's
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
