// FOVEA's family: personas and ontologies, the world, videos, summaries with
// claims, and annotations.
import { ENDPOINT_KINDS, isObj, visitField, visitIdList, walkGloss, walkStructure, walkTypeAssignments } from "./refs.js";
import type { KindDef, KindName, Row } from "./types.js";

const glossy = (row: Row, field: string, visit: Parameters<NonNullable<KindDef["jsonRefs"]>>[1]) => walkGloss(row[field], visit);

const MEMBER_KINDS: Record<string, readonly KindName[]> = {
  entity: ["worldEntity", "worldLocation"],
  event: ["worldEvent"],
  time: ["worldTime"],
};

/** Keyframes only unless interpolated boxes are asked for; counts stay those of the stored sequence. */
function keyframesOnly(row: Row, filter: { includeInterpolated?: boolean }): Row {
  const seq = row.boundingBoxSequence;
  if (filter.includeInterpolated || !isObj(seq) || !Array.isArray(seq.boxes)) return row;
  const boxes = seq.boxes.filter((b) => isObj(b) && b.isKeyframe !== false);
  return { ...row, boundingBoxSequence: { ...seq, boxes } };
}

const world = (kind: KindName, model: KindDef["model"], label: string, extra: Partial<KindDef> = {}): KindDef => ({
  kind,
  model,
  section: "WORLD",
  label,
  refs: [],
  filterColumns: { dateRange: "createdAt" },
  ...extra,
});

const namedPlaceholder = (what: string) => (id: string) => ({ id, name: `placeholder ${what} ${id}`, description: [], typeAssignments: [] });

export const annotationKinds: KindDef[] = [
  {
    kind: "persona",
    model: "Persona",
    section: "PERSONAS",
    label: "personas",
    refs: [],
    naturalKey: ["name"],
    filterColumns: { personaIds: "id", dateRange: "createdAt" },
    placeholder: (id) => ({ id, name: `placeholder persona ${id}`, role: "", informationNeed: "" }),
    pulledBy: [
      { kind: "videoSummary", relation: "summaries" },
      { kind: "annotation", relation: "annotations" },
    ],
  },
  world("worldEntity", "WorldEntity", "world entities", {
    placeholder: namedPlaceholder("entity"),
    jsonRefs: (row, visit) => {
      glossy(row, "description", visit);
      walkTypeAssignments(row.typeAssignments, visit);
    },
    pulledBy: [{ kind: "annotation", relation: "annotations" }],
  }),
  world("worldLocation", "WorldLocation", "world locations", {
    placeholder: namedPlaceholder("location"),
    jsonRefs: (row, visit) => {
      glossy(row, "description", visit);
      walkTypeAssignments(row.typeAssignments, visit);
    },
    pulledBy: [{ kind: "annotation", relation: "annotations" }],
  }),
  world("worldEvent", "WorldEvent", "world events", {
    placeholder: (id) => ({ id, name: `placeholder event ${id}`, description: [], personaInterpretations: [] }),
    jsonRefs: (row, visit) => {
      glossy(row, "description", visit);
      const interpretations = row.personaInterpretations;
      if (!Array.isArray(interpretations)) return;
      interpretations.forEach((p) => {
        if (!isObj(p)) return;
        visitField(p, "personaId", ["persona"], visit);
        if (Array.isArray(p.participants))
          p.participants.forEach((x) => {
            if (isObj(x)) visitField(x, "entityId", ["worldEntity", "worldLocation"], visit);
          });
      });
    },
    pulledBy: [{ kind: "annotation", relation: "annotations" }],
  }),
  world("worldTime", "WorldTime", "world times", {
    placeholder: (id) => ({ id, type: "instant", label: `placeholder time ${id}` }),
    jsonRefs: (row, visit) => {
      const refs = isObj(row.extra) ? row.extra.videoReferences : undefined;
      if (Array.isArray(refs)) refs.forEach((r) => isObj(r) && visitField(r, "videoId", ["video"], visit));
    },
    pulledBy: [{ kind: "annotation", relation: "annotations" }],
  }),
  world("worldCollection", "WorldCollection", "world collections", {
    jsonRefs: (row, visit) => {
      glossy(row, "description", visit);
      const kinds = MEMBER_KINDS[String(row.memberKind)];
      if (kinds) visitIdList(row, "members", kinds, visit);
      walkTypeAssignments(row.typeAssignments, visit);
      if (isObj(row.extra)) {
        visitField(row.extra, "timeCollectionId", ["worldCollection"], visit);
        walkStructure(row.extra.structure, visit);
      }
    },
  }),
  {
    kind: "ontology",
    model: "Ontology",
    section: "PERSONAS",
    label: "ontologies",
    refs: [{ field: "personaId", kinds: ["persona"], relation: "persona" }],
    parent: { field: "personaId", relation: "persona", kind: "persona" },
    naturalKey: ["personaId"],
    jsonRefs: (row, visit) => {
      for (const field of ["entityTypes", "eventTypes", "roleTypes", "relationTypes"]) {
        const types = row[field];
        if (Array.isArray(types)) types.forEach((t) => isObj(t) && walkGloss(t.gloss, visit));
      }
    },
  },
  {
    kind: "video",
    model: "Video",
    section: "ANNOTATIONS",
    label: "videos",
    refs: [],
    filterColumns: { videoIds: "id", dateRange: "createdAt" },
    // FOVEA never exports videos: its summaries and annotations name videos the target must hold
    placeholder: (id) => ({ id, title: `video ${id}` }),
    pulledBy: [
      { kind: "videoSummary", relation: "summaries" },
      { kind: "annotation", relation: "annotations" },
    ],
  },
  {
    kind: "annotation",
    model: "Annotation",
    section: "ANNOTATIONS",
    label: "annotations",
    refs: [
      { field: "videoId", kinds: ["video"], relation: "video" },
      { field: "personaId", kinds: ["persona"], relation: "persona" },
      { field: "linkedEntityId", kinds: ["worldEntity"], relation: "linkedEntity" },
      { field: "linkedEventId", kinds: ["worldEvent"], relation: "linkedEvent" },
      { field: "linkedTimeId", kinds: ["worldTime"], relation: "linkedTime" },
      { field: "linkedLocationId", kinds: ["worldLocation"], relation: "linkedLocation" },
    ],
    filterColumns: { videoIds: "videoId", personaIds: "personaId", annotationTypes: "annotationType", dateRange: "createdAt" },
    exportTransform: keyframesOnly,
  },
  {
    kind: "videoSummary",
    model: "VideoSummary",
    section: "SUMMARIES",
    label: "video summaries",
    refs: [
      { field: "videoId", kinds: ["video"], relation: "video" },
      { field: "personaId", kinds: ["persona"], relation: "persona" },
    ],
    naturalKey: ["videoId", "personaId"],
    filterColumns: { videoIds: "videoId", personaIds: "personaId", dateRange: "createdAt" },
    jsonRefs: (row, visit) => glossy(row, "summary", visit),
  },
  {
    kind: "claim",
    model: "Claim",
    section: "SUMMARIES",
    label: "claims",
    refs: [
      { field: "summaryId", kinds: ["videoSummary"], relation: "summary" },
      { field: "parentClaimId", kinds: ["claim"], relation: "parent" },
    ],
    parent: { field: "summaryId", relation: "summary", kind: "videoSummary" },
    jsonRefs: (row, visit) => {
      glossy(row, "gloss", visit);
      const x = row.extra;
      if (!isObj(x)) return;
      walkGloss(x.claimerGloss, visit);
      walkGloss(x.claimRelation, visit);
      visitField(x, "claimEventId", ["worldEvent"], visit);
      visitField(x, "claimTimeId", ["worldTime"], visit);
      visitField(x, "claimLocationId", ["worldLocation", "worldEntity"], visit);
      if (Array.isArray(x.timeSpans))
        x.timeSpans.forEach((s) => isObj(s) && visitIdList(s, "annotationIds", ["annotation"], visit));
    },
  },
  {
    kind: "claimRelation",
    model: "ClaimRelation",
    section: "SUMMARIES",
    label: "claim relations",
    refs: [
      { field: "sourceClaimId", kinds: ["claim"], relation: "source" },
      { field: "targetClaimId", kinds: ["claim"], relation: "target" },
    ],
    parent: { field: "sourceClaimId", relation: "source", kind: "claim" },
    alsoRequires: [{ relation: "target", kind: "claim" }],
  },
  {
    kind: "worldRelation",
    model: "WorldRelation",
    section: "WORLD",
    label: "world relations",
    refs: [
      { field: "sourceId", kinds: (r) => ENDPOINT_KINDS[String(r.sourceType)] ?? null },
      { field: "targetId", kinds: (r) => ENDPOINT_KINDS[String(r.targetType)] ?? null },
    ],
    jsonRefs: (row, visit) => {
      if (isObj(row.metadata)) visitField(row.metadata, "personaId", ["persona"], visit);
    },
    filterColumns: { dateRange: "createdAt" },
  },
];
