// Which records an export holds, as one Prisma `where` per kind: the records a
// filter selects, plus what they need (their app, categories, persona, video,
// linked world objects), plus the parts that travel with their parent.
import { KINDS, kindDef, type ExportFilter, type FilterColumns, type KindDef, type KindName, type Section } from "./kinds/index.js";

export type Where = Record<string, unknown>;

// a filter narrows the sections it is about; kinds there without the column are only brought along
const FILTER_SECTIONS: Record<Exclude<keyof FilterColumns, "dateRange">, Section[]> = {
  appId: ["MEMORIES"],
  personaIds: ["PERSONAS", "WORLD", "SUMMARIES", "ANNOTATIONS"],
  videoIds: ["PERSONAS", "WORLD", "SUMMARIES", "ANNOTATIONS"],
  annotationTypes: ["ANNOTATIONS"],
};

function filterValue(filter: ExportFilter, key: keyof typeof FILTER_SECTIONS): unknown {
  const v = filter[key];
  return Array.isArray(v) ? (v.length ? v : null) : (v ?? null);
}

function directWhere(kind: KindDef, filter: ExportFilter): Where | null {
  if (kind.parent || kind.selectedForItself === false || !filter.sections.includes(kind.section)) return null;
  const cols = kind.filterColumns ?? {};
  const and: Where[] = [];
  for (const key of Object.keys(FILTER_SECTIONS) as (keyof typeof FILTER_SECTIONS)[]) {
    const value = filterValue(filter, key);
    if (value === null || !FILTER_SECTIONS[key].includes(kind.section)) continue;
    const column = cols[key];
    if (!column) return null;
    and.push({ [column]: Array.isArray(value) ? { in: value } : value });
  }
  if (cols.dateRange && (filter.from || filter.to)) {
    and.push({ [cols.dateRange]: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lte: filter.to } : {}) } });
  }
  return and.length ? { AND: and } : {};
}

export interface Selection {
  /** null: no record of the kind is exported */
  where(kind: KindName): Where | null;
}

export function selectionFor(ownerId: string, filter: ExportFilter): Selection {
  const memo = new Map<KindName, Where | null>();

  const build = (kind: KindDef): Where | null => {
    const ors: Where[] = [];
    const direct = directWhere(kind, filter);
    // every record selected: nothing else can add to it (and Prisma reads `OR: [{}]` as matching nothing)
    if (direct && !Object.keys(direct).length) return { ownerId };
    if (direct) ors.push(direct);
    for (const p of kind.pulledBy ?? []) {
      const dependent = where(p.kind);
      if (dependent) ors.push({ [p.relation]: { some: dependent } });
    }
    if (kind.parent) {
      const parent = where(kind.parent.kind);
      // a parent taken whole takes all its parts: same owner, no join needed
      const whole = (w: Where | null) => w !== null && Object.keys(w).length === 1 && w.ownerId === ownerId;
      if (whole(parent) && (kind.alsoRequires ?? []).every((r) => whole(where(r.kind)))) return { ownerId };
      if (parent) {
        const also = (kind.alsoRequires ?? []).map((r) => ({ r, w: where(r.kind) }));
        if (also.every((a) => a.w)) ors.push({ AND: [{ [kind.parent.relation]: parent }, ...also.map((a) => ({ [a.r.relation]: a.w! }))] });
      }
    }
    if (!ors.length) return null;
    return { ownerId, ...(ors.length === 1 ? ors[0] : { OR: ors }) };
  };

  const where = (name: KindName): Where | null => {
    if (!memo.has(name)) {
      memo.set(name, null); // a cycle in the declarations would read "nothing", never recurse forever
      memo.set(name, build(kindDef(name)!));
    }
    return memo.get(name)!;
  };

  for (const k of KINDS) where(k.kind);
  return { where };
}
