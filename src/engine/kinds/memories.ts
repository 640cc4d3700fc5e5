// OpenMemory's family: apps, categories, memories and what hangs off them.
// Each keeps an `exact` column: OpenMemory writes microseconds, and its
// metadata is Python's JSON (integers of any size).
import type { KindDef } from "./types.js";

export const memoryKinds: KindDef[] = [
  {
    kind: "app",
    exactField: "exact",
    model: "App",
    section: "MEMORIES",
    label: "apps",
    refs: [],
    naturalKey: ["name"],
    filterColumns: { appId: "id" },
    placeholder: (id) => ({ id, name: `placeholder app ${id}`, description: "created by an import for a reference it could not resolve", isActive: true }),
    pulledBy: [{ kind: "memory", relation: "memories" }],
  },
  {
    kind: "category",
    exactField: "exact",
    model: "Category",
    section: "MEMORIES",
    label: "categories",
    refs: [],
    naturalKey: ["name"],
    placeholder: (id) => ({ id, name: `placeholder category ${id}` }),
    // only categories some exported memory carries (as OpenMemory does)
    selectedForItself: false,
    pulledBy: [{ kind: "memoryCategory", relation: "memories" }],
  },
  {
    kind: "memory",
    exactField: "exact",
    model: "Memory",
    section: "MEMORIES",
    label: "memories",
    refs: [{ field: "appId", kinds: ["app"], relation: "app" }],
    filterColumns: { appId: "appId", dateRange: "createdAt" },
    vectorField: "embedding",
  },
  {
    kind: "memoryCategory",
    model: "MemoryCategory",
    section: "MEMORIES",
    label: "memory category links",
    refs: [
      { field: "memoryId", kinds: ["memory"], relation: "memory" },
      { field: "categoryId", kinds: ["category"], relation: "category" },
    ],
    parent: { field: "memoryId", relation: "memory", kind: "memory" },
    naturalKey: ["memoryId", "categoryId"],
  },
  {
    kind: "memoryStatus",
    exactField: "exact",
    model: "MemoryStatus",
    section: "MEMORIES",
    label: "status history",
    refs: [{ field: "memoryId", kinds: ["memory"], relation: "memory" }],
    parent: { field: "memoryId", relation: "memory", kind: "memory" },
  },
  {
    kind: "accessControl",
    exactField: "exact",
    model: "AccessControl",
    section: "MEMORIES",
    label: "access controls",
    refs: [
      { field: "subjectId", kinds: (r) => (r.subjectType === "app" ? ["app"] : null) },
      { field: "objectId", kinds: (r) => (r.objectType === "memory" ? ["memory"] : null) },
    ],
    // policy, not content: no date range; rows whose memory is not exported are dropped
    filterColumns: { appId: "subjectId" },
  },
];
