import type { z } from "zod";
import type { ModelName } from "../../db/models.js";

export const SECTIONS = ["MEMORIES", "PERSONAS", "WORLD", "SUMMARIES", "ANNOTATIONS"] as const;
export type Section = (typeof SECTIONS)[number];

export type KindName =
  | "app"
  | "category"
  | "memory"
  | "memoryCategory"
  | "memoryStatus"
  | "accessControl"
  | "persona"
  | "ontology"
  | "worldEntity"
  | "worldLocation"
  | "worldEvent"
  | "worldTime"
  | "worldCollection"
  | "worldRelation"
  | "video"
  | "videoSummary"
  | "claim"
  | "claimRelation"
  | "annotation";

export type Row = Record<string, unknown>;

/**
 * Called for every reference a record holds: `kinds` are the kinds the id may
 * name (gloss `entity-object` refs may point at an entity or a location).
 * Returning a string replaces the id; returning undefined keeps it.
 */
export type RefVisitor = (kinds: readonly KindName[], id: string) => string | undefined;

/** A column holding the id of another record. */
export interface ColumnRef {
  field: string;
  /** the kind(s) it points at; a function for polymorphic columns (subjectType + subjectId) */
  kinds: readonly KindName[] | ((row: Row) => readonly KindName[] | null);
  /** the Prisma relation on this model for the reference, when it is a foreign key */
  relation?: string;
}

export interface ExportFilter {
  sections: Section[];
  appId?: string | null;
  personaIds?: string[] | null;
  videoIds?: string[] | null;
  annotationTypes?: string[] | null;
  from?: Date | null;
  to?: Date | null;
  includeVectors?: boolean;
  includeInterpolated?: boolean;
}

/** Which filter fields narrow a kind's own records, and through which column. */
export interface FilterColumns {
  appId?: string;
  personaIds?: string;
  videoIds?: string;
  annotationTypes?: string;
  /** createdAt range applies to records selected for themselves */
  dateRange?: string;
}

export interface KindDef {
  kind: KindName;
  model: ModelName;
  section: Section;
  /** a short human label for reports */
  label: string;
  /** column references to other records */
  refs: ColumnRef[];
  /** references held inside JSON columns (gloss items, member lists...) */
  jsonRefs?: (row: Row, visit: RefVisitor) => void;
  /** the record is part of its parent and goes wherever the parent goes (claims of a summary) */
  parent?: { field: string; relation: string; kind: KindName };
  /** also required to be selected for this record to be exported (claim relations need both claims) */
  alsoRequires?: { relation: string; kind: KindName }[];
  /** false: exported only when something brings it along (categories of exported memories) */
  selectedForItself?: boolean;
  /** records of other kinds that bring this one along: its dependents, through their relation */
  pulledBy?: { kind: KindName; relation: string }[];
  filterColumns?: FilterColumns;
  /** fields that together are unique per owner (app name, ontology of a persona) */
  naturalKey?: string[];
  /** the float32 vector column, written only when vectors are asked for */
  vectorField?: string;
  /**
   * the nullable Json column that keeps what the typed columns cannot
   * (sub-millisecond instants, JSON numbers JSON.parse changes): see exact.ts
   */
  exactField?: string;
  /** per-kind refinement of the generated line schema (JSON shapes) */
  refine?: (shape: Record<string, z.ZodType>) => Record<string, z.ZodType>;
  /** a minimal stand-in record, for references an import cannot resolve (CREATE_PLACEHOLDER) */
  placeholder?: (id: string) => Row;
  /** rewrites a row for the archive (e.g. keyframes only) */
  exportTransform?: (row: Row, filter: Pick<ExportFilter, "includeVectors" | "includeInterpolated">) => Row;
}
