import type { ModelName } from "../db/bulk.js";
import type { IdSpace, Random } from "./random.js";

/** Every generated timestamp lies in [EPOCH, EPOCH + SPAN_MS]: 2024 and 2025, never the clock. */
export const EPOCH = Date.UTC(2024, 0, 1);
export const SPAN_MS = 730 * 86_400_000;

/** The record kinds, in the order DESIGN.md lists them (archive line `type`, GraphQL `kind`). */
export const KINDS = [
  "app",
  "category",
  "memory",
  "memoryCategory",
  "memoryStatus",
  "accessControl",
  "persona",
  "ontology",
  "worldEntity",
  "worldLocation",
  "worldEvent",
  "worldTime",
  "worldCollection",
  "worldRelation",
  "video",
  "videoSummary",
  "claim",
  "claimRelation",
  "annotation",
] as const;

export type Kind = (typeof KINDS)[number];
export type KindCounts = Record<Kind, number>;

export const modelOfKind = (kind: Kind) => (kind[0].toUpperCase() + kind.slice(1)) as ModelName;
export const kindOfModel = (model: ModelName) => (model[0].toLowerCase() + model.slice(1)) as Kind;

/** One generated row: the model and what `createMany` would take. */
export type SeedRow = readonly [ModelName, Record<string, unknown>];

export interface SeedPlan {
  scale: number;
  apps: number;
  categories: number;
  memories: number;
  accessControls: number;
  personas: number;
  videos: number;
  /** a video has summaries by 1..maxSummariesPerVideo distinct personas */
  maxSummariesPerVideo: number;
  /** average claims per summary */
  claimsPerSummary: number;
  worldEntities: number;
  worldLocations: number;
  worldEvents: number;
  worldTimes: number;
  worldCollections: number;
  worldRelations: number;
  annotations: number;
}

// Per memory: the memory, 1.33 category links and 0.68 status rows on average
// (see memories.ts); claim relations are 0.19 per claim (annotations.ts).
export const CATEGORY_LINKS_PER_MEMORY = 1.33;
export const STATUS_ROWS_PER_MEMORY = 0.68;
export const RELATIONS_PER_CLAIM = 0.19;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * How many records of each kind make about `scale` records in all: half
 * memories (with their links and history), half annotations (most of them
 * claims and bounding-box annotations). Small scales are raised to the
 * minimum that still shows every kind, state and link type.
 */
export function makePlan(scale: number): SeedPlan {
  const n = Math.max(1, Math.floor(scale));
  const apps = clamp(Math.round(n / 2000), 3, 12);
  const categories = clamp(Math.round(n / 500), 6, 60);
  const accessControls = Math.max(4, Math.round(n * 0.01));
  const perMemory = 1 + CATEGORY_LINKS_PER_MEMORY + STATUS_ROWS_PER_MEMORY;
  const memories = Math.max(8, Math.round((n * 0.5 - apps - categories - accessControls) / perMemory));
  const personas = clamp(Math.round(n / 4000), 3, 16);
  const videos = Math.max(3, Math.round(n * 0.006));
  const maxSummariesPerVideo = Math.min(personas, 4);
  const summaries = (videos * (1 + maxSummariesPerVideo)) / 2;
  const claimsPerSummary = Math.max(3, Math.round((n * 0.16) / summaries));
  return {
    scale: n,
    apps,
    categories,
    memories,
    accessControls,
    personas,
    videos,
    maxSummariesPerVideo,
    claimsPerSummary,
    worldEntities: Math.max(8, Math.round(n * 0.04)),
    worldLocations: Math.max(4, Math.round(n * 0.01)),
    worldEvents: Math.max(4, Math.round(n * 0.02)),
    worldTimes: Math.max(4, Math.round(n * 0.015)),
    worldCollections: Math.max(3, Math.round(n * 0.005)),
    worldRelations: Math.max(4, Math.round(n * 0.02)),
    annotations: Math.max(8, Math.round(n * 0.17)),
  };
}

/** Expected records per kind (exact for most kinds, the mean for the random ones). */
export function expectedCounts(p: SeedPlan): KindCounts {
  const summaries = Math.round((p.videos * (1 + p.maxSummariesPerVideo)) / 2);
  const claims = summaries * p.claimsPerSummary;
  return {
    app: p.apps,
    category: p.categories,
    memory: p.memories,
    memoryCategory: Math.round(p.memories * CATEGORY_LINKS_PER_MEMORY),
    memoryStatus: Math.round(p.memories * STATUS_ROWS_PER_MEMORY),
    accessControl: p.accessControls,
    persona: p.personas,
    ontology: p.personas,
    worldEntity: p.worldEntities,
    worldLocation: p.worldLocations,
    worldEvent: p.worldEvents,
    worldTime: p.worldTimes,
    worldCollection: p.worldCollections,
    worldRelation: p.worldRelations,
    video: p.videos,
    videoSummary: summaries,
    claim: claims,
    claimRelation: Math.round(claims * RELATIONS_PER_CLAIM),
    annotation: p.annotations,
  };
}

export interface SeedContext {
  ownerId: string;
  ids: IdSpace;
  /** an independent generator for one named part of the data */
  random(part: string): Random;
  plan: SeedPlan;
}

/** A Date `ms` after EPOCH, clamped into the seeded span. */
export function at(ms: number): Date {
  return new Date(EPOCH + Math.min(Math.max(0, Math.round(ms)), SPAN_MS));
}
