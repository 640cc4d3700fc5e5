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

export function visitField(o: Obj, key: string, kinds: readonly KindName[], visit: RefVisitor, path: string): void {
  const v = o[key];
  if (typeof v !== "string" || v === "") return;
  const next = visit(kinds, v, `${path}.${key}`);
  if (next !== undefined) o[key] = next;
}

export function visitIdList(o: Obj, key: string, kinds: readonly KindName[], visit: RefVisitor, path: string): void {
  const list = o[key];
  if (!Array.isArray(list)) return;
  list.forEach((v, i) => {
    if (typeof v !== "string") return;
    const next = visit(kinds, v, `${path}.${key}[${i}]`);
    if (next !== undefined) list[i] = next;
  });
}

/** Rich-text gloss arrays: objectRef, annotationRef, claimRef and typeRef items. */
export function walkGloss(items: unknown, visit: RefVisitor, path: string): void {
  if (!Array.isArray(items)) return;
  items.forEach((item, i) => {
    if (!isObj(item)) return;
    const p = `${path}[${i}]`;
    switch (item.type) {
      case "objectRef": {
        const kinds = OBJECT_REF_KINDS[String(item.refType)] ?? OBJECT_REF_KINDS["entity-object"];
        visitField(item, "content", kinds, visit, p);
        break;
      }
      case "annotationRef":
        visitField(item, "content", ["annotation"], visit, p);
        break;
      case "claimRef":
        visitField(item, "content", ["claim"], visit, p);
        visitField(item, "refClaimId", ["claim"], visit, p);
        break;
      case "typeRef": {
        // a typeRef normally names an ontology type (kept as is); naming an instance kind makes it an object ref
        const instance = OBJECT_REF_KINDS[String(item.refType)];
        if (instance) visitField(item, "content", instance, visit, p);
        visitField(item, "refPersonaId", ["persona"], visit, p);
        break;
      }
    }
  });
}

/** `[{ personaId, ... }]` assignment lists on world objects. */
export function walkTypeAssignments(list: unknown, visit: RefVisitor, path: string): void {
  if (!Array.isArray(list)) return;
  list.forEach((a, i) => {
    if (isObj(a)) visitField(a, "personaId", ["persona"], visit, `${path}[${i}]`);
  });
}

/** Event collection structures: trees of `{ eventId, children }`. */
export function walkStructure(node: unknown, visit: RefVisitor, path: string): void {
  if (Array.isArray(node)) return node.forEach((n, i) => walkStructure(n, visit, `${path}[${i}]`));
  if (!isObj(node)) return;
  visitField(node, "eventId", ["worldEvent"], visit, path);
  walkStructure(node.children, visit, `${path}.children`);
}

export { isObj };
