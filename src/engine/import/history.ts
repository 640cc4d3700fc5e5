// What an import's history record says once it succeeded. Written inside the
// import's own transaction (run.ts), so a record that committed is never left
// RUNNING or FAILED by a process that stopped right after the COMMIT; and a
// record still RUNNING when the server starts again was never committed.
import type { DetectedFormat } from "../archive/detect.js";
import { FORMAT_NAME } from "../archive/format.js";
import { fromWire, StowageError, toWire, type WireError } from "../errors.js";
import type { ImportRecord } from "../../generated/sqlite/client.js";
import type { ConflictGroup } from "./conflict-groups.js";
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
    conflictGroups: plan.conflictGroups as object[],
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
  conflictGroups: ConflictGroup[];
}

export function outcomeOf(record: Pick<ImportRecord, "status" | "counts" | "warnings" | "recordCount" | "conflictCount" | "conflictGroups">): ImportOutcome {
  if (record.status !== "SUCCEEDED") throw new Error(`an import ${record.status.toLowerCase()} has no outcome`);
  return {
    counts: (record.counts ?? {}) as PlanCounts,
    warnings: (record.warnings ?? []) as string[],
    records: record.recordCount ?? 0,
    conflicts: record.conflictCount ?? 0,
    conflictGroups: conflictGroupsOf(record),
  };
}

/** The record's conflicts by type, kind and resolution; none for a record from before they were kept. */
export function conflictGroupsOf(record: Pick<ImportRecord, "conflictGroups">): ConflictGroup[] {
  return (record.conflictGroups ?? []) as unknown as ConflictGroup[];
}

/** lines a failed import's record lists of its error's malformed ones (its groups count them all) */
export const KEPT_PROBLEMS = 100;

/** What a failed import's record keeps of the typed error it ended with: none for a fault of the server's own. */
export function failureOf(err: unknown): object | undefined {
  if (!(err instanceof StowageError)) return undefined;
  const wire = toWire(err);
  const { problems } = wire.fields;
  if (Array.isArray(problems)) wire.fields.problems = problems.slice(0, KEPT_PROBLEMS);
  return wire as unknown as object;
}

/** The typed error a failed import's record keeps, as its own class again. */
export function failureFrom(record: Pick<ImportRecord, "failure">): StowageError | null {
  if (!record.failure) return null;
  const err = fromWire(record.failure as unknown as WireError);
  return err instanceof StowageError ? err : null;
}

export const INTERRUPTED = "interrupted: the server stopped while this import was running; nothing of it was written";
