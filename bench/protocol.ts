// What bench/child.ts takes and prints (kept apart: importing child.ts runs it).
import type { PoolConfig } from "pg";
import type { Database } from "../src/config.js";
import type { ScanTable } from "./baseline.js";

import type { VariantOptions } from "./experiments/variant.js";

/**
 * export: the server's export job path (bench/server-job.ts): a process with the server's Prisma client
 * running, ExportJobs running the job in its worker process (the variants of --variants still run
 * writeExport in-process, in withSnapshot);
 * export-driver: withDriverSnapshot + writeExport in a process that never starts a Prisma client
 * (what an export worker process or the CLI could be)
 */
export type Measure = "baseline" | "export" | "export-driver";

export interface ChildSpec {
  measure: Measure;
  database: Database;
  ownerId: string;
  /** baseline only: what to scan, and how to connect to PostgreSQL (so the child loads no Prisma code) */
  tables?: ScanTable[];
  pool?: PoolConfig;
  /** time the export's phases (Prisma queries, line building, gzip) by wrapping, not by editing src */
  phases?: boolean;
  /** export only: run bench/experiments/variant.ts with these options instead of src's writeExport */
  variant?: VariantOptions;
  /** export only: run one whole export before the clock too (JIT-warm, like a server's second export) */
  warmExport?: boolean;
  /** export only: skip the warm-up (Prisma's one-time engine start, before the clock) */
  cold?: boolean;
  /** write a CPU profile of the measured work (not of process start) to this path */
  profile?: string;
}

export interface ChildResult {
  measure: Measure;
  records: number;
  /** uncompressed JSON lines, when the measurement can see them */
  jsonBytes?: number;
  /** bytes written to /dev/null (gzip stream for the baseline, ZIP for the export) */
  outputBytes: number;
  seconds: number;
  /** CPU time of the process over the measured work (user + system, all threads: zlib runs on the threadpool) */
  cpuSeconds: number;
  /**
   * peak RSS of the process doing the export (MiB), and its peak before the measured work began:
   * for the server's job path, the worker process's (the server's own in parentMaxRssMiB)
   */
  maxRssMiB: number;
  setupRssMiB: number;
  /** the server's job path only: the server process's peak RSS, and its peak before the job */
  parentMaxRssMiB?: number;
  parentSetupRssMiB?: number;
  perKind: Record<string, number>;
  phases?: Record<string, number>;
}

export const RESULT_PREFIX = "BENCH_RESULT ";
