// The import planner. Preview is this plan shown; import is this plan applied
// as it is made (apply.ts writes each record once it is decided), in the
// transaction whose data it was decided against, so the two agree.
//
// Pass A reads every line for the ids the file holds and who exported it.
// Pass B checks each record against its schema and decides it, in file order,
// against the target user's data only — an id owned by someone else is never
// reported, it just gets a new id.
//
// What it keeps of a whole file, sized for a million records, is in FileIds.
import { randomUUID } from "node:crypto";
import type { RawReader } from "../../db/raw.js";
import { ConflictGroups, type ConflictGroup } from "./conflict-groups.js";
import { InvalidArchiveError, ProblemGroups, type LineProblem, type LineProblemGroup } from "../errors.js";
import { KINDS, kindDef, lineSchema, ownKind, refKinds, type KindDef, type KindName, type Row } from "../kinds/index.js";
import { Action, COUNTED, DROPPED, FileIds, INVALID, type IdMapping, type Placeholder } from "./file-ids.js";
import { naturalKeyHolders, owners } from "./lookups.js";
import { PlannedKeys } from "./planned-keys.js";
import { ALLOWED, chooseResolution } from "./resolve.js";
import type { Conflict, ConflictType, ImportOptions, KindPlanCounts, LineSource, ParsedLine, PlanCounts, Resolution } from "./types.js";

/** Conflicts listed one by one (the counts cover them all); kind-wide resolutions reach the rest. */
export const MAX_LISTED_CONFLICTS = 10_000;
export const MAX_WARNINGS = 200;
export const MAX_PROBLEMS = 500;
/** records decided between two progress reports */
const PROGRESS_EVERY = 1000;

type Progress = (decided: number, total: number) => void;

export interface ImportPlan {
  /** the data of the file's metadata line, if it has one */
  metadata: Row | null;
  exporterUserId: string | null;
  crossUser: boolean;
  counts: PlanCounts;
  /** a preview's first MAX_LISTED_CONFLICTS; an import's, only those its resolutions name by id */
  conflicts: Conflict[];
  conflictTotal: number;
  /** every conflict, by type, kind and resolution: set once the plan is made */
  conflictGroups: ConflictGroup[];
  warnings: string[];
  warningTotal: number;
  problems: LineProblem[];
  /** every malformed line (a lenient plan skips them), counted and grouped by fault: set once the file has been read */
  problemCount: number;
  problemGroups: LineProblemGroup[];
  records: number;
  /** lines decided after lines that come later in the file (their references pointed forward), in the order they were decided */
  deferred: number[];
}

/** What an import does with each decided record; preview has none. */
export interface PlanSink {
  begin(plan: ImportPlan, ids: IdMapping): Promise<void>;
  placeholder(p: Placeholder): Promise<void>;
  /** a promise when the sink must be waited for before the next record */
  record(kind: KindDef, line: number, data: Row, action: Action.Create | Action.Remap | Action.Update, rename: string | undefined): Promise<void> | void;
  end(): Promise<void>;
}

function emptyCounts(): KindPlanCounts {
  return { create: 0, update: 0, skip: 0, remap: 0 };
}

interface FileRecord {
  line: number;
  kind: KindDef;
  data: Row;
  /** the id derived from its own, when it cannot keep that one (made for the page's look-up, used when it is decided) */
  derived?: string;
  /** per column reference (kind.refs' order): the file's line it names, NOT_IN_FILE, or undefined when it names nothing */
  refLines?: (number | undefined)[];
}

/** a column reference to no record of the file */
const NOT_IN_FILE = -1;

type Ref = { id: string } | { missing: true } | { dropped: true };

/**
 * Per kind, id → whether the target user holds it (false: someone else
 * does); ids nobody holds are not in it. Keyed by the ids as they are, not a
 * kind + id text made for every look-up (a page allocated a few per record).
 */
class Holders {
  private byKind = new Map<KindName, Map<string, boolean>>();

  set(kind: KindName, id: string, mine: boolean): void {
    let ids = this.byKind.get(kind);
    if (!ids) this.byKind.set(kind, (ids = new Map()));
    ids.set(id, mine);
  }

  get(kind: KindName, id: string): boolean | undefined {
    return this.byKind.get(kind)?.get(id);
  }
}

/** A field's value as it will be written: its resolved reference when it has one. */
function resolvedValue(data: Row, resolvedRefs: Row | null, field: string): unknown {
  return resolvedRefs && field in resolvedRefs ? resolvedRefs[field] : data[field];
}

class Planner {
  readonly plan: ImportPlan;
  private ids: FileIds;
  /** new names of records RENAMEd, by line */
  private renames = new Map<number, string>();
  /** natural key → target id, for records planned earlier in the file */
  private plannedKeys = new PlannedKeys();
  // what pass B reads the target's data through and writes to: set when it starts
  private reader!: RawReader;
  private sink: PlanSink | null = null;
  /** the conflicts the resolutions name by id: all an import keeps of them (see listing) */
  private namedConflicts: Set<string>;

  constructor(
    private targetUserId: string,
    private options: ImportOptions,
  ) {
    this.ids = new FileIds(targetUserId);
    this.namedConflicts = new Set(options.resolutions.flatMap((r) => (r.conflictId ? [r.conflictId] : [])));
    this.plan = {
      metadata: null,
      exporterUserId: null,
      crossUser: false,
      counts: {},
      conflicts: [],
      conflictTotal: 0,
      conflictGroups: [],
      warnings: [],
      warningTotal: 0,
      problems: [],
      problemCount: 0,
      problemGroups: [],
      records: 0,
      deferred: [],
    };
  }

  warn(message: string) {
    this.plan.warningTotal++;
    if (this.plan.warnings.length < MAX_WARNINGS) this.plan.warnings.push(message);
  }

  /** every malformed line, by fault: what a strict failure reports besides the first MAX_PROBLEMS */
  private problemGroups = new ProblemGroups();
  private conflictGroups = new ConflictGroups();

  private problem(p: LineProblem) {
    this.problemGroups.add(p);
    if (this.plan.problems.length < MAX_PROBLEMS) this.plan.problems.push(p);
  }

  private count(kind: KindName, what: keyof KindPlanCounts) {
    (this.plan.counts[kind] ??= emptyCounts())[what]++;
  }

  /**
   * Whether conflicts are built now: a preview lists the first
   * MAX_LISTED_CONFLICTS; an import (a sink to write to) keeps only those its
   * resolutions name by id, which checkResolutionInput checks — nobody reads
   * the others, and a cross-user import would otherwise build one per record.
   */
  private get listing(): boolean {
    return this.sink ? this.namedConflicts.size > 0 : this.plan.conflicts.length < MAX_LISTED_CONFLICTS;
  }

  private conflict(c: Omit<Conflict, "id" | "resolution" | "allowedResolutions"> & { allowedResolutions?: Resolution[] }): Resolution {
    const allowedResolutions = c.allowedResolutions ?? ALLOWED[c.type];
    this.plan.conflictTotal++;
    // one way out and nothing to list (a million foreign records): no conflict object to make
    if (allowedResolutions.length === 1 && !this.listing) {
      this.conflictGroups.add(c.type, c.kind, allowedResolutions[0], c.line);
      return allowedResolutions[0];
    }
    // the caller's object becomes the conflict: a preview lists up to 10,000, and two spreads each were a quarter of a 10k preview's pass B
    const full = c as Conflict;
    full.id = `${c.type}:${c.kind}:${c.line}:${c.field ?? ""}`;
    full.allowedResolutions = allowedResolutions;
    full.resolution = chooseResolution(this.options, full);
    this.conflictGroups.add(c.type, c.kind, full.resolution, c.line);
    if (this.sink ? this.namedConflicts.has(full.id) : this.listing) this.plan.conflicts.push(full);
    return full.resolution;
  }

  /**
   * A conflict past the listed ones with one way out (a million foreign
   * records): counted, and nothing is built for it. Undefined when it has to
   * go through conflict().
   */
  private countedOnly(type: ConflictType, kind: string, line: number): Resolution | undefined {
    const allowed = ALLOWED[type];
    if (allowed.length !== 1 || this.listing) return undefined;
    this.plan.conflictTotal++;
    this.conflictGroups.add(type, kind, allowed[0], line);
    return allowed[0];
  }

  // ---------- pass A ----------

  /** Validates a parsed line into a record, or records the problem. */
  private record(p: ParsedLine): FileRecord | null {
    if (!p.ok) {
      this.problem({ line: p.line, kind: p.kind, message: p.message, group: p.group });
      return null;
    }
    if (p.type === "metadata") return null;
    const kind = kindDef(p.type);
    // unknown types were warned about in pass A
    if (!kind) return null;
    const parsed = lineSchema(kind).safeParse(p.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const at = (path: PropertyKey[]) => path.join(".") || "data";
      // the same fault at another index (gloss.3, gloss.7) is one fault
      const group = issue.path.some((x) => typeof x === "number") ? `${at(issue.path.map((x) => (typeof x === "number" ? "*" : x)))}: ${issue.message}` : undefined;
      this.problem({ line: p.line, kind: kind.kind, message: `${at(issue.path)}: ${issue.message}`, group });
      return null;
    }
    // the line's own object, not zod's copy of it: no schema transforms a value, and the
    // keys it would strip (fields of no column) are read by nothing (fromLineData writes columns only)
    return { line: p.line, kind, data: p.data };
  }

  private invalid(line: number, dropped = true) {
    this.ids.room(line);
    this.ids.state[line] |= dropped ? INVALID | DROPPED : INVALID;
    // decided (nothing to do), so nothing waits for it
    this.ids.setAction(line, Action.Skip);
  }

  /**
   * Pass A: the file's ids and who exported it. Lines are checked against
   * their kind's schema in pass B (which parses every line anyway); here a
   * source may give records with their id alone (`LineSource.heads`).
   */
  async scan(source: LineSource) {
    let foreignOwner: string | null = null;
    for await (const batch of (source.heads ?? source)()) {
      for (const p of batch) {
        if (!p.ok) {
          this.problem({ line: p.line, kind: p.kind, message: p.message, group: p.group });
          this.invalid(p.line);
          continue;
        }
        if (p.type === "metadata") {
          this.plan.metadata ??= p.data;
          const exporter = p.data.exporterUserId;
          if (typeof exporter === "string" && exporter && this.plan.exporterUserId === null) this.plan.exporterUserId = exporter;
          continue;
        }
        // FOVEA files without a metadata line name their owner on personas and annotations
        if ((p.type === "persona" || p.type === "annotation") && typeof p.data.userId === "string" && p.data.userId !== this.targetUserId) {
          foreignOwner ??= p.data.userId;
        }
        const kind = kindDef(p.type);
        if (!kind) {
          this.warn(`line ${p.line}: unknown record type "${p.type}" ignored`);
          continue;
        }
        const id = p.data.id;
        // no usable id: pass B's schema check says what is wrong
        if (typeof id !== "string" || !id) continue;
        const first = this.ids.register(kind, id, p.line);
        if (first !== undefined) {
          this.problem({ line: p.line, kind: kind.kind, message: `id ${id} appears twice in the file (first on line ${first})`, group: "its id appears on an earlier line" });
          this.invalid(p.line, false); // the first keeps the id: the repeat is no record of its own
          continue;
        }
        this.plan.records++;
        this.ids.state[p.line] |= COUNTED;
      }
    }
    if (this.plan.exporterUserId) this.plan.crossUser = this.plan.exporterUserId !== this.targetUserId;
    else if (foreignOwner) {
      this.plan.exporterUserId = foreignOwner;
      this.plan.crossUser = true;
    }
  }

  /** Strict: any malformed line fails the import, every one of them (up to the cap) named. Lenient: each is a warning. */
  private reportProblems() {
    const problems = this.plan.problems.sort((a, b) => a.line - b.line);
    const total = (this.plan.problemCount = this.problemGroups.total);
    const groups = (this.plan.problemGroups = this.problemGroups.list());
    if (problems.length && this.options.strict) {
      const first = problems[0];
      throw new InvalidArchiveError(
        `${total} malformed line${total === 1 ? "" : "s"}; the first is line ${first.line}${first.kind ? ` (${first.kind})` : ""}: ${first.message}`,
        first.line,
        problems,
        { total, groups },
      );
    }
    for (const p of problems) this.warn(`line ${p.line}${p.kind ? ` (${p.kind})` : ""}: ${p.message}; skipped`);
  }

  // ---------- pass B ----------

  async decide(source: LineSource, reader: RawReader, sink: PlanSink | null, onProgress?: Progress) {
    this.reader = reader;
    this.sink = sink;
    this.onProgress = onProgress;
    // a strict import that has failed already only looks for the rest of the malformed lines
    let failed = this.options.strict && this.plan.problems.length > 0;
    if (!failed) await sink?.begin(this.plan, this.ids);
    const pending: FileRecord[] = [];
    for await (const batch of source()) {
      const ready: FileRecord[] = [];
      for (const p of batch) {
        if (p.line < this.ids.state.length && this.ids.state[p.line] & INVALID) continue;
        const r = this.record(p);
        if (!r) {
          if (!p.ok || kindDef(p.type)) this.dropInvalid(p);
          continue;
        }
        if (this.ids.fileLine(ownKind(r.kind), r.data.id as string) !== r.line) {
          // pass A saw another id on this line (a key given twice, read differently): no record to trust
          this.problem({ line: r.line, kind: r.kind.kind, message: "the record's id is ambiguous" });
          this.dropInvalid(p);
          continue;
        }
        if (failed || (this.options.strict && this.plan.problems.length)) {
          failed = true;
          continue;
        }
        if (this.forwardRef(r)) {
          pending.push(r);
          this.pendingLines.add(r.line);
        } else ready.push(r);
      }
      if (!failed) await this.decidePage(ready);
    }
    if (failed) return this.reportProblems();
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
        this.plan.deferred.push(...now.map((r) => r.line));
        await this.decidePage(now);
      }
    }
    // a cycle: decide them anyway; their forward references then count as missing
    if (pending.length) {
      this.pendingLines.clear();
      for (const r of pending) this.warn(`line ${r.line}: its references form a cycle with later lines`);
      this.plan.deferred.push(...pending.map((r) => r.line));
      await this.decidePage(pending, true);
    }
    this.reportProblems();
    this.plan.conflictGroups = this.conflictGroups.list();
    await this.sink?.end();
    this.onProgress?.(this.plan.records, this.plan.records);
  }

  /** records decided so far, and who hears of it (every PROGRESS_EVERY) */
  private decidedRecords = 0;
  private onProgress: Progress | undefined;

  /** A line pass B found malformed: no record; one pass A counted is counted no more. */
  private dropInvalid(p: ParsedLine) {
    if (p.line < this.ids.state.length && this.ids.state[p.line] & COUNTED) this.plan.records--;
    this.invalid(p.line);
  }

  /** lines waiting for something later in the file; whatever points at them waits too */
  private pendingLines = new Set<number>();

  /** A column reference to an in-file record not decided yet. */
  private forwardRef(r: FileRecord): boolean {
    // earlier lines are decided first (pages go in line order); only later ones can be pending
    for (const line of this.refLines(r))
      if (line !== undefined && line !== NOT_IN_FILE && ((line > r.line && !this.ids.decided(line)) || this.pendingLines.has(line))) return true;
    return false;
  }

  /**
   * The lines the record's column references name, looked up once for the
   * forward check, the page's look-ups and the decision: which line holds an
   * id is settled by pass A.
   */
  private refLines(r: FileRecord): (number | undefined)[] {
    if (r.refLines) return r.refLines;
    const refs = r.kind.refs;
    const lines: (number | undefined)[] = new Array(refs.length);
    for (let i = 0; i < refs.length; i++) {
      const id = r.data[refs[i].field];
      if (typeof id !== "string" || !id) continue;
      const kinds = refKinds(refs[i], r.data);
      if (kinds) lines[i] = this.ids.fileLine(kinds, id) ?? NOT_IN_FILE;
    }
    return (r.refLines = lines);
  }

  /** Resolves a reference (on `line` of the file, or NOT_IN_FILE) to the id it will have after the import, or why it cannot. */
  private resolveRef(kinds: readonly KindName[], id: string, targetOwned: Holders, line: number): Ref {
    if (line !== NOT_IN_FILE) return this.ids.state[line] & DROPPED ? { dropped: true } : { id: this.ids.targetOfLine(line, id) };
    // a placeholder made for an earlier record (and, in an import, written already)
    const p = this.ids.placeholderOf(kinds, id);
    if (p) return { id: p.targetId };
    for (const k of kinds) if (targetOwned.get(k, id)) return { id };
    return { missing: true };
  }

  private async decidePage(records: FileRecord[], cyclic = false) {
    if (!records.length) return;
    await this.decideEach(records, cyclic);
    const before = this.decidedRecords;
    this.decidedRecords += records.length;
    if (Math.floor(before / PROGRESS_EVERY) !== Math.floor(this.decidedRecords / PROGRESS_EVERY)) this.onProgress?.(this.decidedRecords, this.plan.records);
  }

  private async decideEach(records: FileRecord[], cyclic: boolean) {
    // which referenced ids (not in the file) the target user holds
    const wanted = new Map<KindName, Set<string>>();
    const want = (kinds: readonly KindName[], id: string) => {
      for (const k of kinds) (wanted.get(k) ?? wanted.set(k, new Set()).get(k)!).add(id);
    };
    for (const r of records) {
      const lines = this.refLines(r);
      const refs = r.kind.refs;
      for (let i = 0; i < refs.length; i++) if (lines[i] === NOT_IN_FILE) want(refKinds(refs[i], r.data)!, r.data[refs[i].field] as string);
      r.kind.jsonRefs?.(r.data, (kinds, id) => {
        if (this.ids.fileLine(kinds, id) === undefined) want(kinds, id);
        return undefined;
      });
    }
    const targetOwned = new Holders();
    for (const [k, ids] of wanted) {
      for (const [id, mine] of await owners(this.reader, kindDef(k)!, [...ids], this.targetUserId)) if (mine) targetOwned.set(k, id, true);
    }
    // which ids of these records exist already, and whose (in someone else's file every record moves: only the ids it moves to count)
    const byKind = new Map<KindDef, FileRecord[]>();
    for (const r of records) (byKind.get(r.kind) ?? byKind.set(r.kind, []).get(r.kind)!).push(r);
    const existing = new Holders();
    if (!this.plan.crossUser)
      for (const [kind, rs] of byKind)
        for (const [id, mine] of await owners(this.reader, kind, rs.map((r) => r.data.id as string), this.targetUserId)) existing.set(kind.kind, id, mine);
    // records that cannot keep their id get one derived from it: is that one taken (by an earlier import of the same file)?
    for (const [kind, rs] of byKind) {
      const derived: string[] = [];
      for (const r of rs)
        if (this.plan.crossUser || existing.get(kind.kind, r.data.id as string) === false) derived.push((r.derived = this.ids.remapId(kind.kind, r.data.id as string)));
      for (const [id, mine] of await owners(this.reader, kind, derived, this.targetUserId)) existing.set(kind.kind, id, mine);
    }
    await this.prefetchNaturalKeys(byKind);

    for (const r of records.sort((a, b) => a.line - b.line)) {
      const action = await this.decideRecord(r, existing, targetOwned, cyclic);
      if (this.sink && (action === Action.Create || action === Action.Remap || action === Action.Update)) {
        const written = this.sink.record(r.kind, r.line, r.data, action, this.renames.get(r.line));
        if (written) await written;
      }
    }
  }

  private skip(r: FileRecord): Action {
    this.ids.setAction(r.line, Action.Skip);
    this.ids.state[r.line] |= DROPPED;
    this.count(r.kind.kind, "skip");
    return Action.Skip;
  }

  private async decideRecord(r: FileRecord, existing: Holders, targetOwned: Holders, cyclic: boolean): Promise<Action> {
    const kind = r.kind;
    const sourceId = r.data.id as string;

    // 1. references: every column reference must resolve (file first, then the target's data)
    // the references as they will be (the record itself is rewritten when it is written); made when one is
    let resolvedRefs: Row | null = null;
    const lines = this.refLines(r);
    for (let i = 0; i < kind.refs.length; i++) {
      const ref = kind.refs[i];
      const line = lines[i];
      if (line === undefined) continue;
      const id = r.data[ref.field] as string;
      const kinds = refKinds(ref, r.data)!;
      const res = this.resolveRef(kinds, id, targetOwned, line);
      if ("id" in res && !(cyclic && this.isForward(kinds, id, r.line))) {
        (resolvedRefs ??= {})[ref.field] = res.id;
        continue;
      }
      if ("dropped" in res) {
        this.warn(`line ${r.line}: ${kind.kind} skipped because the ${ref.field} it refers to (${id}) is not imported`);
        return this.skip(r);
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
        (resolvedRefs ??= {})[ref.field] = await this.placeholder(refKind, id);
        continue;
      }
      return this.skip(r);
    }

    // 2. the record's own id. One that cannot be kept (the file is someone else's, or
    // — never said — someone else holds the id) becomes an id derived from it, so
    // importing the same file again meets the records it made the first time.
    const owner = existing.get(kind.kind, sourceId);
    const mustMove = this.plan.crossUser || owner === false;
    const candidate = mustMove ? (r.derived ?? this.ids.remapId(kind.kind, sourceId)) : sourceId;
    const candidateOwner = existing.get(kind.kind, candidate);
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
        this.ids.moveTo(r.line, sourceId, candidate);
        this.ids.setAction(r.line, Action.Skip);
        this.count(kind.kind, "skip");
        return Action.Skip;
      }
      if (resolution === "OVERWRITE") action = Action.Update;
      else {
        action = Action.Remap;
        targetId = this.ids.freshId(kind.kind, sourceId);
      }
    } else if (this.plan.crossUser) {
      if (!this.countedOnly("ForeignRecordConflict", kind.kind, r.line))
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
      const nk = kind.naturalKey.map((f) => resolvedValue(r.data, resolvedRefs, f));
      const existingId = this.plannedKeys.get(kind.kind, nk) ?? (await this.naturalKeyOwner(kind, nk));
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
          this.ids.moveTo(r.line, sourceId, existingId);
          const merged = resolution === "MERGE" ? Action.Skip : Action.Update;
          this.ids.setAction(r.line, merged);
          this.count(kind.kind, merged === Action.Skip ? "skip" : "update");
          return merged;
        }
        // RENAME
        const name = await this.freeName(kind, String(resolvedValue(r.data, resolvedRefs, "name")));
        this.renames.set(r.line, name);
        this.plannedKeys.set(kind.kind, [name], targetId);
      } else {
        this.plannedKeys.set(kind.kind, nk, targetId);
      }
    }

    this.ids.moveTo(r.line, sourceId, targetId);
    this.ids.setAction(r.line, action);
    const quiet = action === Action.Remap && !this.plan.crossUser && owner === false;
    this.count(kind.kind, action === Action.Update ? "update" : action === Action.Remap && !quiet ? "remap" : "create");
    return action;
  }

  private isForward(kinds: readonly KindName[], id: string, line: number): boolean {
    const l = this.ids.fileLine(kinds, id);
    return l !== undefined && l > line && !this.ids.decided(l);
  }

  /** natural key → the target's record holding it (null: nobody), filled a page at a time */
  private naturalKeys = new Map<string, string | null>();

  private async naturalKeyOwner(kind: KindDef, values: unknown[]): Promise<string | null> {
    const cacheKey = `${kind.kind}\u0000${JSON.stringify(values)}`;
    const cached = this.naturalKeys.get(cacheKey);
    if (cached !== undefined) return cached;
    if (!values.every((v) => typeof v === "string")) return null;
    const found = await naturalKeyHolders(this.reader, kind, [values as string[]], this.targetUserId);
    return found.get(JSON.stringify(values)) ?? null;
  }

  /**
   * One query per kind and page for the natural keys its records will ask
   * about, with references resolved as far as is known now; a key resolved
   * differently later simply misses the cache. A key naming a record this
   * import creates cannot be held by anything yet: it is not asked about.
   */
  private async prefetchNaturalKeys(byKind: Map<KindDef, FileRecord[]>) {
    this.naturalKeys.clear();
    for (const [kind, rs] of byKind) {
      const fields = kind.naturalKey;
      if (!fields) continue;
      const refKinds = fields.map((f) => {
        const ref = kind.refs.find((x) => x.field === f && Array.isArray(x.kinds));
        return ref ? (ref.kinds as readonly KindName[]) : null;
      });
      const tuples = new Map<string, string[]>();
      for (const r of rs) {
        let fresh = false;
        const values = fields.map((f, i) => {
          const v = r.data[f];
          const kinds = refKinds[i];
          if (typeof v !== "string" || !kinds) return v;
          const l = this.ids.fileLine(kinds, v);
          if (l === undefined) return v;
          if (this.ids.actions[l] === Action.Create || this.ids.actions[l] === Action.Remap) fresh = true;
          return this.ids.targetOfLine(l, v);
        });
        const k = `${kind.kind}\u0000${JSON.stringify(values)}`;
        this.naturalKeys.set(k, null);
        if (!fresh && values.every((v) => typeof v === "string")) tuples.set(k, values as string[]);
      }
      const found = await naturalKeyHolders(this.reader, kind, [...tuples.values()], this.targetUserId);
      for (const [text, id] of found) this.naturalKeys.set(`${kind.kind}\u0000${text}`, id);
    }
  }

  private async freeName(kind: KindDef, name: string): Promise<string> {
    for (let n = 1; ; n++) {
      const candidate = `${name} (imported${n > 1 ? ` ${n}` : ""})`;
      const taken =
        this.plannedKeys.has(kind.kind, [candidate]) || (await this.naturalKeyOwner(kind, [candidate])) !== null;
      if (!taken) return candidate;
    }
  }

  private async placeholder(kind: KindDef, sourceId: string): Promise<string> {
    const known = this.ids.placeholderOf(ownKind(kind), sourceId);
    if (known) return known.targetId;
    const taken = (await owners(this.reader, kind, [sourceId], this.targetUserId)).has(sourceId);
    const p: Placeholder = { kind, sourceId, targetId: taken ? randomUUID() : sourceId };
    this.ids.addPlaceholder(p);
    this.count(kind.kind, "create");
    await this.sink?.placeholder(p);
    return p.targetId;
  }
}

export interface ScannedImport {
  /** what pass A found: records, problems, who exported the file */
  readonly plan: ImportPlan;
  /**
   * Pass B against the target user's data as `reader` sees it; with a sink,
   * every decided record is handed to it as soon as it is decided (in file
   * order, out-of-order lines once what they refer to is decided);
   * `onProgress` hears how many are decided, every thousand and at the end.
   * Once only.
   */
  decide(reader: RawReader, sink: PlanSink | null, onProgress?: Progress): Promise<ImportPlan>;
}

/**
 * Pass A over `source` (the file alone: no database yet, so an import takes
 * its write lock only once this is done). Throws InvalidArchiveError for a
 * malformed file in strict mode.
 */
export async function scanImport(targetUserId: string, options: ImportOptions, source: LineSource): Promise<ScannedImport> {
  const planner = new Planner(targetUserId, options);
  await planner.scan(source);
  return {
    plan: planner.plan,
    async decide(reader, sink, onProgress) {
      await planner.decide(source, reader, sink, onProgress);
      const plan = planner.plan;
      // counts in archive order, whatever order the file had
      plan.counts = Object.fromEntries(KINDS.filter((k) => plan.counts[k.kind]).map((k) => [k.kind, plan.counts[k.kind]!]));
      return plan;
    },
  };
}

export const KIND_ORDER = KINDS.map((k) => k.kind);

export { Action, type IdMapping, type Placeholder };

export type { ConflictType };
