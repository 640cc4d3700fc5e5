// What an import's history record says once it succeeded. Written inside the
// import's own transaction (run.ts), so a record that committed is never left
// RUNNING or FAILED by a process that stopped right after the COMMIT; and a
// record still RUNNING when the server starts again was never committed.
import type { DetectedFormat } from "../archive/detect.js";
import { FORMAT_NAME } from "../archive/format.js";
import type { ImportRecord } from "../../generated/sqlite/client.js";
import { MAX_WARNINGS, type ImportPlan } from "./plan.js";
import type { PlanCounts } from "./types.js";

export type HistoryFormat = "ZIP" | "JSONL" | "OPENMEMORY" | "FOVEA";

/** What the history calls the file: a JSONL without stowage's own metadata line is FOVEA's. */
export function historyFormat(format: DetectedFormat, plan: ImportPlan | null): HistoryFormat {
  if (format !== "JSONL") return format;
  return plan && plan.metadata?.format !== FORMAT_NAME ? "FOVEA" : "JSONL";
}

/** The import being written, and the record that tells of it. */
export interface HistoryEntry {
  recordId: string;
  format: DetectedFormat;
}

export function succeeded(format: DetectedFormat, plan: ImportPlan) {
  return {
    status: "SUCCEEDED" as const,
    format: historyFormat(format, plan),
    crossUser: plan.crossUser,
    exporterUserId: plan.exporterUserId,
    counts: plan.counts as object,
    warnings: plan.warnings.slice(0, MAX_WARNINGS),
    recordCount: plan.records,
    conflictCount: plan.conflictTotal,
    finishedAt: new Date(),
  };
}

/** What an import that succeeded did, as its record tells it: what the shells report. */
export interface ImportOutcome {
  counts: PlanCounts;
  warnings: string[];
  /** records the file held */
  records: number;
  conflicts: number;
}

export function outcomeOf(record: Pick<ImportRecord, "status" | "counts" | "warnings" | "recordCount" | "conflictCount">): ImportOutcome {
  if (record.status !== "SUCCEEDED") throw new Error(`an import ${record.status.toLowerCase()} has no outcome`);
  return {
    counts: (record.counts ?? {}) as PlanCounts,
    warnings: (record.warnings ?? []) as string[],
    records: record.recordCount ?? 0,
    conflicts: record.conflictCount ?? 0,
  };
}

export const INTERRUPTED = "interrupted: the server stopped while this import was running; nothing of it was written";
