import type { KindName, Row } from "../kinds/index.js";

export type ImportMode = "SKIP" | "OVERWRITE";

export type Resolution = "SKIP" | "OVERWRITE" | "CREATE_NEW" | "MERGE" | "RENAME" | "SKIP_RECORD" | "CREATE_PLACEHOLDER" | "FAIL";

export const CONFLICT_TYPES = ["DuplicateIdConflict", "NaturalKeyConflict", "ForeignRecordConflict", "MissingReferenceConflict"] as const;

export type ConflictType = (typeof CONFLICT_TYPES)[number];

export interface Conflict {
  /** stable for the same file and database state */
  id: string;
  type: ConflictType;
  kind: KindName;
  line: number;
  sourceId: string;
  /** the target user's record it collides with (never another user's) */
  existingId: string | null;
  suggestedResolution: Resolution;
  allowedResolutions: Resolution[];
  message: string;
  /** MissingReferenceConflict: the reference that did not resolve */
  field?: string;
  referencedKind?: KindName;
  referencedId?: string;
  /** what the plan does for it */
  resolution: Resolution;
}

export interface ResolutionInput {
  conflictId?: string | null;
  /** a record kind: applies to every conflict of that kind that allows the resolution */
  kind?: string | null;
  resolution: Resolution;
}

export interface ImportOptions {
  mode: ImportMode;
  resolutions: ResolutionInput[];
  /** any malformed line fails the import (default) instead of being skipped with a warning */
  strict: boolean;
}

export interface KindPlanCounts {
  create: number;
  update: number;
  skip: number;
  remap: number;
}

export type PlanCounts = Partial<Record<KindName, KindPlanCounts>>;

/** A parsed line as the record sources give it. */
export type ParsedLine =
  | { ok: true; line: number; type: string; data: Row }
  | { ok: false; line: number; kind: string | null; message: string; group?: string };

/** Re-readable: each call streams the lines again from the start, as new objects (the import changes the records it is handed). */
export type LineSource = (() => AsyncIterable<ParsedLine[]>) & {
  /**
   * The same lines for a first look, cheaper where the source can: a record's
   * data may hold its id alone (its other fields are read, and checked, on
   * the next pass). Metadata lines, and records of files whose owner shows on
   * their records (FOVEA's), come whole.
   */
  heads?: () => AsyncIterable<ParsedLine[]>;
  /** The lines `wanted` says yes to (asked in line order), where the source can skip the others unparsed. */
  only?: (wanted: (line: number) => boolean) => AsyncIterable<ParsedLine[]>;
};
