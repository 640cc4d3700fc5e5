// The import planner. Preview is this plan shown; import is this plan applied
// (apply.ts) in the same transaction that computed it, so the two agree.
//
// Pass A reads every line: validation, the ids the file holds, who exported
// it. Pass B walks the records in file order and decides each one against the
// target user's data only — an id owned by someone else is never reported,
// it just gets a new id.
import { randomUUID } from "node:crypto";
import { nameUuid } from "../ids.js";
import type { Db } from "../../db/client.js";
import { InvalidArchiveError, type LineProblem } from "../errors.js";
import { KINDS, kindDef, lineSchema, walkRefs, type KindDef, type KindName, type Row } from "../kinds/index.js";
import { delegate } from "../records.js";
import { ALLOWED, chooseResolution } from "./resolve.js";
import type { Conflict, ConflictType, ImportOptions, KindPlanCounts, LineSource, ParsedLine, PlanCounts, Resolution } from "./types.js";

/** Conflicts listed one by one (the counts cover them all); kind-wide resolutions reach the rest. */
export const MAX_LISTED_CONFLICTS = 10_000;
export const MAX_WARNINGS = 200;
export const MAX_PROBLEMS = 500;

export const enum Action {
  None = 0,
  Create = 1,
  Remap = 2,
  Update = 3,
  Skip = 4,
}

export interface Placeholder {
  kind: KindDef;
  sourceId: string;
  targetId: string;
}

export interface ImportPlan {
  /** the data of the file's metadata line, if it has one */
  metadata: Row | null;
  exporterUserId: string | null;
  crossUser: boolean;
  counts: PlanCounts;
  conflicts: Conflict[];
  conflictTotal: number;
  warnings: string[];
  warningTotal: number;
  problems: LineProblem[];
  records: number;
  // what apply needs
  actions: Uint8Array;
  /** `${kind}\0${sourceId}` → id in the target's data, when it differs */
  idMap: Map<string, string>;
  renames: Map<number, string>;
  placeholders: Placeholder[];
  /** lines whose references come later in the file: applied last, in this order */
  deferred: number[];
}

const key = (kind: KindName, id: string) => `${kind}\u0000${id}`;

// namespace of the ids an import gives records it cannot keep the id of
const REMAP_NAMESPACE = "stowage:remap:";

function emptyCounts(): KindPlanCounts {
  return { create: 0, update: 0, skip: 0, remap: 0 };
}

interface FileRecord {
  line: number;
  kind: KindDef;
  data: Row;
}

class Planner {
  readonly plan: ImportPlan;
  /** in-file records: key → line */
  private fileIds = new Map<string, number>();
  /** in-file records that will not exist after the import (skipped, invalid) */
  private dropped = new Set<string>();
  /** natural key → target id, for records planned earlier in the file */
  private plannedKeys = new Map<string, string>();
  private placeholderFor = new Map<string, Placeholder>();

  constructor(
    private db: Db,
    private targetUserId: string,
    private options: ImportOptions,
  ) {
    this.plan = {
      metadata: null,
      exporterUserId: null,
      crossUser: false,
      counts: {},
      conflicts: [],
      conflictTotal: 0,
      warnings: [],
      warningTotal: 0,
      problems: [],
      records: 0,
      actions: new Uint8Array(1024),
      idMap: new Map(),
      renames: new Map(),
      placeholders: [],
      deferred: [],
    };
  }

  warn(message: string) {
    this.plan.warningTotal++;
    if (this.plan.warnings.length < MAX_WARNINGS) this.plan.warnings.push(message);
  }

  private problem(p: LineProblem) {
    if (this.plan.problems.length < MAX_PROBLEMS) this.plan.problems.push(p);
  }

  private setAction(line: number, a: Action) {
    if (line >= this.plan.actions.length) {
      const grown = new Uint8Array(Math.max(line + 1, this.plan.actions.length * 2));
      grown.set(this.plan.actions);
      this.plan.actions = grown;
    }
    this.plan.actions[line] = a;
  }

  private count(kind: KindName, what: keyof KindPlanCounts) {
    (this.plan.counts[kind] ??= emptyCounts())[what]++;
  }

  private conflict(c: Omit<Conflict, "id" | "resolution" | "allowedResolutions"> & { allowedResolutions?: Resolution[] }): Resolution {
    const full = { ...c, id: `${c.type}:${c.kind}:${c.line}:${c.field ?? ""}`, allowedResolutions: c.allowedResolutions ?? ALLOWED[c.type] };
    const resolution = chooseResolution(this.options, full);
    this.plan.conflictTotal++;
    if (this.plan.conflicts.length < MAX_LISTED_CONFLICTS) this.plan.conflicts.push({ ...full, resolution });
    return resolution;
  }

  // ---------- pass A ----------

  /** Validates a parsed line into a record, or records the problem. */
  private record(p: ParsedLine): FileRecord | null {
    if (!p.ok) {
      this.problem({ line: p.line, kind: p.kind, message: p.message });
      return null;
    }
    if (p.type === "metadata") return null;
    const kind = kindDef(p.type);
    if (!kind) {
      this.warn(`line ${p.line}: unknown record type "${p.type}" ignored`);
      return null;
    }
    const parsed = lineSchema(kind).safeParse(p.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.problem({ line: p.line, kind: kind.kind, message: `${issue.path.join(".") || "data"}: ${issue.message}` });
      return null;
    }
    return { line: p.line, kind, data: parsed.data as Row };
  }

  async scan(source: LineSource) {
    let foreignOwner: string | null = null;
    for await (const batch of source()) {
      for (const p of batch) {
        if (p.ok && p.type === "metadata") {
          this.plan.metadata ??= p.data;
          const exporter = p.data.exporterUserId;
          if (typeof exporter === "string" && exporter && this.plan.exporterUserId === null) this.plan.exporterUserId = exporter;
          continue;
        }
        // FOVEA files without a metadata line name their owner on personas and annotations
        if (p.ok && (p.type === "persona" || p.type === "annotation") && typeof p.data.userId === "string" && p.data.userId !== this.targetUserId) {
          foreignOwner ??= p.data.userId;
        }
        const r = this.record(p);
        if (!r) {
          if (p.ok && kindDef(p.type) && typeof p.data.id === "string") this.dropped.add(key(kindDef(p.type)!.kind, p.data.id));
          continue;
        }
        const k = key(r.kind.kind, r.data.id as string);
        if (this.fileIds.has(k)) {
          this.problem({ line: r.line, kind: r.kind.kind, message: `id ${r.data.id} appears twice in the file (first on line ${this.fileIds.get(k)})` });
          continue;
        }
        this.fileIds.set(k, r.line);
        this.plan.records++;
      }
    }
    if (this.plan.exporterUserId) this.plan.crossUser = this.plan.exporterUserId !== this.targetUserId;
    else if (foreignOwner) {
      this.plan.exporterUserId = foreignOwner;
      this.plan.crossUser = true;
    }
    if (this.plan.problems.length && this.options.strict) {
      const first = this.plan.problems[0];
      throw new InvalidArchiveError(
        `${this.plan.problems.length}${this.plan.problems.length >= MAX_PROBLEMS ? "+" : ""} malformed line(s); the first is line ${first.line}${first.kind ? ` (${first.kind})` : ""}: ${first.message}`,
        first.line,
        this.plan.problems,
      );
    }
    for (const p of this.plan.problems) this.warn(`line ${p.line}${p.kind ? ` (${p.kind})` : ""}: ${p.message}; skipped`);
  }

  // ---------- pass B ----------

  async decide(source: LineSource) {
    const pending: FileRecord[] = [];
    for await (const batch of source()) {
      const records = batch.map((p) => (p.ok && p.type !== "metadata" && kindDef(p.type) ? this.record(p) : null)).filter((r): r is FileRecord => r !== null);
      // records are decided kind by kind within a batch, lines in order
      const ready: FileRecord[] = [];
      for (const r of records) {
        if (this.fileIds.get(key(r.kind.kind, r.data.id as string)) !== r.line) continue; // a duplicate line
        if (this.forwardRef(r)) {
          pending.push(r);
          this.pendingLines.add(r.line);
        } else ready.push(r);
      }
      await this.decidePage(ready);
    }
    // out-of-order lines: decide them once what they point at is decided
    let progress = true;
    while (pending.length && progress) {
      progress = false;
      const now = pending.filter((r) => {
        this.pendingLines.delete(r.line);
        const waits = this.forwardRef(r);
        if (waits) this.pendingLines.add(r.line);
        return !waits;
      });
      if (now.length) {
        progress = true;
        for (const r of now) pending.splice(pending.indexOf(r), 1);
        await this.decidePage(now);
        this.plan.deferred.push(...now.map((r) => r.line));
      }
    }
    // a cycle: decide them anyway; their forward references then count as missing
    if (pending.length) {
      this.pendingLines.clear();
      for (const r of pending) this.warn(`line ${r.line}: its references form a cycle with later lines`);
      await this.decidePage(pending, true);
      this.plan.deferred.push(...pending.map((r) => r.line));
    }
  }

  /** every decided line has an action: the action table doubles as the set of decided lines */
  private decided(line: number): boolean {
    return line < this.plan.actions.length && this.plan.actions[line] !== Action.None;
  }
  /** lines waiting for something later in the file; whatever points at them waits too */
  private pendingLines = new Set<number>();

  /** A column reference to an in-file record not decided yet. */
  private forwardRef(r: FileRecord): boolean {
    let forward = false;
    // a visitor that returns nothing writes nothing: the record itself can be walked
    walkRefs({ ...r.kind, jsonRefs: undefined }, r.data, (kinds, id) => {
      for (const k of kinds) {
        // earlier lines are decided first (pages go in line order); only later ones can be pending
        const line = this.fileIds.get(key(k, id));
        if (line !== undefined && ((line > r.line && !this.decided(line)) || this.pendingLines.has(line))) forward = true;
      }
      return undefined;
    });
    return forward;
  }

  /** Ids among `ids` that exist in kind's table: which are the target's, and which are someone else's. */
  private async owners(kind: KindDef, ids: string[]): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    for (let i = 0; i < ids.length; i += 1000) {
      const rows = await delegate(this.db, kind).findMany({ where: { id: { in: ids.slice(i, i + 1000) } }, select: { id: true, ownerId: true } });
      for (const r of rows) out.set(r.id as string, r.ownerId === this.targetUserId);
    }
    return out;
  }

  /** Resolves a reference to the id it will have after the import, or why it cannot. */
  private resolveRef(kinds: readonly KindName[], id: string, targetOwned: Set<string>): { id: string } | { missing: true } | { dropped: true } {
    for (const k of kinds) {
      const kk = key(k, id);
      const mapped = this.plan.idMap.get(kk);
      if (mapped) return { id: mapped };
      if (this.fileIds.has(kk)) return this.dropped.has(kk) ? { dropped: true } : { id };
    }
    for (const k of kinds) if (targetOwned.has(key(k, id))) return { id };
    return { missing: true };
  }

  private async decidePage(records: FileRecord[], cyclic = false) {
    if (!records.length) return;
    // which referenced ids (not in the file) the target user holds
    const wanted = new Map<KindName, Set<string>>();
    for (const r of records)
      walkRefs(r.kind, r.data, (kinds, id) => {
        if (!kinds.some((k) => this.fileIds.has(key(k, id)))) for (const k of kinds) (wanted.get(k) ?? wanted.set(k, new Set()).get(k)!).add(id);
        return undefined;
      });
    const targetOwned = new Set<string>();
    for (const [k, ids] of wanted) {
      const owners = await this.owners(kindDef(k)!, [...ids]);
      for (const [id, mine] of owners) if (mine) targetOwned.add(key(k, id));
    }
    // which ids of these records exist already, and whose
    const byKind = new Map<KindDef, FileRecord[]>();
    for (const r of records) (byKind.get(r.kind) ?? byKind.set(r.kind, []).get(r.kind)!).push(r);
    const existing = new Map<string, boolean>();
    for (const [kind, rs] of byKind) for (const [id, mine] of await this.owners(kind, rs.map((r) => r.data.id as string))) existing.set(key(kind.kind, id), mine);
    // records that cannot keep their id get one derived from it: is that one taken (by an earlier import of the same file)?
    for (const [kind, rs] of byKind) {
      const derived = rs.filter((r) => this.plan.crossUser || existing.get(key(kind.kind, r.data.id as string)) === false).map((r) => this.remapId(kind.kind, r.data.id as string));
      for (const [id, mine] of await this.owners(kind, derived)) existing.set(key(kind.kind, id), mine);
    }
    await this.prefetchNaturalKeys(byKind);

    for (const r of records.sort((a, b) => a.line - b.line)) {
      await this.decideRecord(r, existing, targetOwned, cyclic);
    }
  }

  private skip(r: FileRecord) {
    this.setAction(r.line, Action.Skip);
    this.dropped.add(key(r.kind.kind, r.data.id as string));
    this.count(r.kind.kind, "skip");
  }

  private async decideRecord(r: FileRecord, existing: Map<string, boolean>, targetOwned: Set<string>, cyclic: boolean) {
    const kind = r.kind;
    const sourceId = r.data.id as string;
    const k = key(kind.kind, sourceId);

    // 1. references: every column reference must resolve (file first, then the target's data)
    // only top-level reference columns are rewritten here
    const resolved: Row = { ...r.data };
    let skipForRef = false;
    for (const ref of kind.refs) {
      const id = resolved[ref.field];
      if (typeof id !== "string" || !id) continue;
      const kinds = typeof ref.kinds === "function" ? ref.kinds(resolved) : ref.kinds;
      if (!kinds) continue;
      const res = this.resolveRef(kinds, id, targetOwned);
      if ("id" in res && !(cyclic && this.isForward(kinds, id, r.line))) {
        resolved[ref.field] = res.id;
        continue;
      }
      if ("dropped" in res) {
        this.warn(`line ${r.line}: ${kind.kind} skipped because the ${ref.field} it refers to (${id}) is not imported`);
        skipForRef = true;
        break;
      }
      const refKind = kindDef(kinds[0])!;
      const resolution = this.conflict({
        type: "MissingReferenceConflict",
        kind: kind.kind,
        line: r.line,
        sourceId,
        existingId: null,
        field: ref.field,
        referencedKind: refKind.kind,
        referencedId: id,
        // videos are metadata only here and FOVEA never exports them: a stand-in is what the user wants
        suggestedResolution: refKind.kind === "video" ? "CREATE_PLACEHOLDER" : "SKIP_RECORD",
        allowedResolutions: refKind.placeholder ? ALLOWED.MissingReferenceConflict : ["SKIP_RECORD", "FAIL"],
        message: `${ref.field} ${id} is neither in the file nor among your ${refKind.label}`,
      });
      if (resolution === "FAIL") {
        throw new InvalidArchiveError(`line ${r.line}: ${kind.kind}.${ref.field} refers to ${refKind.kind} ${id}, which is neither in the file nor among your records`, r.line, [
          { line: r.line, kind: kind.kind, message: `missing ${refKind.kind} ${id}` },
        ]);
      }
      if (resolution === "CREATE_PLACEHOLDER") {
        resolved[ref.field] = await this.placeholder(refKind, id);
        continue;
      }
      skipForRef = true;
      break;
    }
    if (skipForRef) return this.skip(r);

    // 2. the record's own id. One that cannot be kept (the file is someone else's, or
    // — never said — someone else holds the id) becomes an id derived from it, so
    // importing the same file again meets the records it made the first time.
    const owner = existing.get(k);
    const mustMove = this.plan.crossUser || owner === false;
    const candidate = mustMove ? this.remapId(kind.kind, sourceId) : sourceId;
    const candidateOwner = existing.get(key(kind.kind, candidate));
    let action: Action;
    let targetId = candidate;
    if (candidateOwner === true) {
      const resolution = this.conflict({
        type: "DuplicateIdConflict",
        kind: kind.kind,
        line: r.line,
        sourceId,
        existingId: candidate,
        suggestedResolution: this.options.mode === "OVERWRITE" ? "OVERWRITE" : "SKIP",
        message: mustMove ? `you already imported this ${kind.kind}` : `you already have this ${kind.kind}`,
      });
      if (resolution === "SKIP") {
        // the existing record stays and references to it resolve to it
        if (candidate !== sourceId) this.plan.idMap.set(k, candidate);
        this.setAction(r.line, Action.Skip);
        this.count(kind.kind, "skip");
        return;
      }
      if (resolution === "OVERWRITE") action = Action.Update;
      else {
        action = Action.Remap;
        targetId = randomUUID();
      }
    } else if (this.plan.crossUser) {
      this.conflict({
        type: "ForeignRecordConflict",
        kind: kind.kind,
        line: r.line,
        sourceId,
        existingId: null,
        suggestedResolution: "CREATE_NEW",
        message: `exported by another user: created under a new id`,
      });
      action = Action.Remap;
      // astronomically unlikely: the derived id is taken by someone else
      if (candidateOwner === false) targetId = randomUUID();
    } else {
      // a free id is kept; someone else's gets a new one, counted as a plain create so nothing is given away
      action = owner === false ? Action.Remap : Action.Create;
      if (candidateOwner === false) targetId = randomUUID();
    }

    // 3. natural key (app name, persona name, ontology of a persona, summary of video+persona)
    if (kind.naturalKey && action !== Action.Update) {
      const nk = kind.naturalKey.map((f) => resolved[f]);
      const nkKey = `${kind.kind}\u0000${JSON.stringify(nk)}`;
      const existingId = this.plannedKeys.get(nkKey) ?? (await this.naturalKeyOwner(kind, nk));
      if (existingId && existingId !== targetId) {
        const canRename = kind.naturalKey.length === 1 && kind.naturalKey[0] === "name";
        const resolution = this.conflict({
          type: "NaturalKeyConflict",
          kind: kind.kind,
          line: r.line,
          sourceId,
          existingId,
          suggestedResolution: "MERGE",
          allowedResolutions: canRename ? ALLOWED.NaturalKeyConflict : ["MERGE", "OVERWRITE", "SKIP"],
          message: `you already have a ${kind.kind} with the same ${kind.naturalKey.join(" + ")} (${nk.join(", ")})`,
        });
        if (resolution === "SKIP") return this.skip(r);
        if (resolution === "MERGE" || resolution === "OVERWRITE") {
          this.plan.idMap.set(k, existingId);
          if (resolution === "MERGE") {
            this.setAction(r.line, Action.Skip);
            this.count(kind.kind, "skip");
          } else {
            this.setAction(r.line, Action.Update);
            this.count(kind.kind, "update");
          }
          return;
        }
        // RENAME
        const name = await this.freeName(kind, String(resolved.name));
        this.plan.renames.set(r.line, name);
        this.plannedKeys.set(`${kind.kind}\u0000${JSON.stringify([name])}`, targetId);
      } else {
        this.plannedKeys.set(nkKey, targetId);
      }
    }

    if (targetId !== sourceId) this.plan.idMap.set(k, targetId);
    this.setAction(r.line, action);
    const quiet = action === Action.Remap && !this.plan.crossUser && owner === false;
    this.count(kind.kind, action === Action.Update ? "update" : action === Action.Remap && !quiet ? "remap" : "create");
  }

  private isForward(kinds: readonly KindName[], id: string, line: number): boolean {
    return kinds.some((k) => {
      const l = this.fileIds.get(key(k, id));
      return l !== undefined && l > line && !this.decided(l);
    });
  }

  private remapId(kind: KindName, sourceId: string): string {
    return nameUuid(REMAP_NAMESPACE, `${this.targetUserId}:${kind}:${sourceId}`);
  }

  /** natural key → the target's record holding it (null: nobody), filled a page at a time */
  private naturalKeys = new Map<string, string | null>();

  private async naturalKeyOwner(kind: KindDef, values: unknown[]): Promise<string | null> {
    const cacheKey = `${kind.kind}\u0000${JSON.stringify(values)}`;
    const cached = this.naturalKeys.get(cacheKey);
    if (cached !== undefined) return cached;
    const where = Object.fromEntries(kind.naturalKey!.map((f, i) => [f, values[i]]));
    const row = await delegate(this.db, kind).findMany({ where: { ownerId: this.targetUserId, ...where }, select: { id: true }, take: 1 });
    return (row[0]?.id as string) ?? null;
  }

  /**
   * One query per kind and page for the natural keys its records will ask
   * about, with references resolved as far as is known now; a key resolved
   * differently later simply misses the cache.
   */
  private async prefetchNaturalKeys(byKind: Map<KindDef, FileRecord[]>) {
    this.naturalKeys.clear();
    for (const [kind, rs] of byKind) {
      const fields = kind.naturalKey;
      if (!fields) continue;
      const tuples = new Map<string, unknown[]>();
      for (const r of rs) {
        const values = fields.map((f) => {
          const v = r.data[f];
          if (typeof v !== "string") return v;
          const ref = kind.refs.find((x) => x.field === f && Array.isArray(x.kinds));
          return ref ? (this.plan.idMap.get(key((ref.kinds as KindName[])[0], v)) ?? v) : v;
        });
        tuples.set(`${kind.kind}\u0000${JSON.stringify(values)}`, values);
      }
      for (const [k] of tuples) this.naturalKeys.set(k, null);
      const list = [...tuples.values()];
      for (let i = 0; i < list.length; i += 200) {
        const chunk = list.slice(i, i + 200);
        const rows = await delegate(this.db, kind).findMany({
          where: { ownerId: this.targetUserId, OR: chunk.map((values) => Object.fromEntries(fields.map((f, j) => [f, values[j]]))) },
          select: { id: true, ...Object.fromEntries(fields.map((f) => [f, true])) },
        });
        for (const row of rows) this.naturalKeys.set(`${kind.kind}\u0000${JSON.stringify(fields.map((f) => row[f]))}`, row.id as string);
      }
    }
  }

  private async freeName(kind: KindDef, name: string): Promise<string> {
    for (let n = 1; ; n++) {
      const candidate = `${name} (imported${n > 1 ? ` ${n}` : ""})`;
      const taken =
        this.plannedKeys.has(`${kind.kind}\u0000${JSON.stringify([candidate])}`) || (await this.naturalKeyOwner(kind, [candidate])) !== null;
      if (!taken) return candidate;
    }
  }

  private async placeholder(kind: KindDef, sourceId: string): Promise<string> {
    const k = key(kind.kind, sourceId);
    const known = this.placeholderFor.get(k);
    if (known) return known.targetId;
    const taken = (await this.owners(kind, [sourceId])).has(sourceId);
    const p: Placeholder = { kind, sourceId, targetId: taken ? randomUUID() : sourceId };
    this.placeholderFor.set(k, p);
    this.plan.placeholders.push(p);
    if (p.targetId !== sourceId) this.plan.idMap.set(k, p.targetId);
    this.count(kind.kind, "create");
    return p.targetId;
  }
}

export async function planImport(db: Db, targetUserId: string, options: ImportOptions, source: LineSource): Promise<ImportPlan> {
  const planner = new Planner(db, targetUserId, options);
  await planner.scan(source);
  await planner.decide(source);
  const plan = planner.plan;
  // counts in archive order, whatever order the file had
  plan.counts = Object.fromEntries(KINDS.filter((k) => plan.counts[k.kind]).map((k) => [k.kind, plan.counts[k.kind]!]));
  return plan;
}

export const KIND_ORDER = KINDS.map((k) => k.kind);

export type { ConflictType };
