// Walkers for references that live inside JSON columns. They visit every id
// with the kinds it may name, and write back whatever the visitor returns, so
// the same walk serves dependency checks (read only) and id remapping.
import type { KindName, RefVisitor } from "./types.js";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** FOVEA stores locations as entities, so an entity reference may name either. */
export const OBJECT_REF_KINDS: Record<string, readonly KindName[]> = {
  "entity-object": ["worldEntity", "worldLocation"],
  "location-object": ["worldLocation", "worldEntity"],
  "event-object": ["worldEvent"],
  "time-object": ["worldTime"],
  "collection-object": ["worldCollection"],
  annotation: ["annotation"],
  claim: ["claim"],
};

/** World relation endpoints and collection members, by their declared type. */
export const ENDPOINT_KINDS: Record<string, readonly KindName[]> = {
  entity: ["worldEntity", "worldLocation"],
  location: ["worldLocation", "worldEntity"],
  event: ["worldEvent"],
  time: ["worldTime"],
  claim: ["claim"],
  collection: ["worldCollection"],
  entity_collection: ["worldCollection"],
  event_collection: ["worldCollection"],
  time_collection: ["worldCollection"],
};

export function visitField(o: Obj, key: string, kinds: readonly KindName[], visit: RefVisitor): void {
  const v = o[key];
  if (typeof v !== "string" || v === "") return;
  const next = visit(kinds, v);
  if (next !== undefined) o[key] = next;
}

export function visitIdList(o: Obj, key: string, kinds: readonly KindName[], visit: RefVisitor): void {
  const list = o[key];
  if (!Array.isArray(list)) return;
  list.forEach((v, i) => {
    if (typeof v !== "string") return;
    const next = visit(kinds, v);
    if (next !== undefined) list[i] = next;
  });
}

/** Rich-text gloss arrays: objectRef, annotationRef, claimRef and typeRef items. */
export function walkGloss(items: unknown, visit: RefVisitor): void {
  if (!Array.isArray(items)) return;
  for (const item of items) {
    if (!isObj(item)) continue;
    switch (item.type) {
      case "objectRef": {
        const kinds = OBJECT_REF_KINDS[String(item.refType)] ?? OBJECT_REF_KINDS["entity-object"];
        visitField(item, "content", kinds, visit);
        break;
      }
      case "annotationRef":
        visitField(item, "content", ["annotation"], visit);
        break;
      case "claimRef":
        visitField(item, "content", ["claim"], visit);
        visitField(item, "refClaimId", ["claim"], visit);
        break;
      case "typeRef": {
        // a typeRef normally names an ontology type (kept as is); naming an instance kind makes it an object ref
        const instance = OBJECT_REF_KINDS[String(item.refType)];
        if (instance) visitField(item, "content", instance, visit);
        visitField(item, "refPersonaId", ["persona"], visit);
        break;
      }
    }
  }
}

/** `[{ personaId, ... }]` assignment lists on world objects. */
export function walkTypeAssignments(list: unknown, visit: RefVisitor): void {
  if (!Array.isArray(list)) return;
  for (const a of list) if (isObj(a)) visitField(a, "personaId", ["persona"], visit);
}

/** Event collection structures: trees of `{ eventId, children }`. */
export function walkStructure(node: unknown, visit: RefVisitor): void {
  if (Array.isArray(node)) return node.forEach((n) => walkStructure(n, visit));
  if (!isObj(node)) return;
  visitField(node, "eventId", ["worldEvent"], visit);
  walkStructure(node.children, visit);
}

export { isObj };
