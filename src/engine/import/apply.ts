// Applies an import plan as the planner makes it: each decided record is
// written at once, inserts batched through the driver writer, overwrites as
// updates, everything inside the import's transaction — all or nothing.
import { modelInfos } from "../../db/models.js";
import { quote } from "../../db/values.js";
import type { DriverTx } from "../../db/driver-tx.js";
import { DriverWriter, type TextReplacement } from "../../db/driver-write.js";
import { fromLineData, lineColumns, walkRefs, type KindDef, type Row } from "../kinds/index.js";
import type { LineSource } from "./types.js";
import { Action, type IdMapping, type ImportPlan, type Placeholder, type PlanSink } from "./plan.js";

export interface ApplyOptions {
  targetUserId: string;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const WHOLE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ids written into prose and undeclared places (claim text "X has collided
 * with Y", metadata): every UUID-shaped substring the import remapped is
 * replaced, wherever it stands, so no old id survives. In place: the record
 * is the import's own copy.
 */
function remapText(value: unknown, ids: IdMapping): unknown {
  if (typeof value === "string") {
    // a UUID's first dash is its ninth character: a text with no dash from there on holds none
    if (value.length < 36 || value.indexOf("-", 8) === -1) return value;
    // a whole id (a JSON list of them, an undeclared reference) needs no search
    if (value.length === 36) return WHOLE_UUID.test(value) ? (ids.mapAnyId(value) ?? value) : value;
    return value.replace(UUID, (m) => ids.mapAnyId(m) ?? m);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = remapText(value[i], ids);
  } else if (value && typeof value === "object") {
    const o = value as Row;
    for (const k in o) o[k] = remapText(o[k], ids);
  }
  return value;
}

const mappedColumns = new Map<KindDef, Set<string>>();

/**
 * Fields walkRefs maps by their kind (and the record's own id, which the
 * writer sets): searching them for prose ids would only find what is mapped
 * already. A reference whose kinds depend on the row is searched like prose.
 */
function columnsMappedByKind(kind: KindDef): Set<string> {
  let fields = mappedColumns.get(kind);
  if (!fields) mappedColumns.set(kind, (fields = new Set(["id", ...kind.refs.filter((r) => Array.isArray(r.kinds)).map((r) => r.field)])));
  return fields;
}

const proseFieldsCache = new Map<KindDef, string[]>();

/** The text and JSON columns remapProse searches: where an id it could not map yet stands. */
function proseFields(kind: KindDef): string[] {
  let fields = proseFieldsCache.get(kind);
  if (!fields) {
    const skip = columnsMappedByKind(kind);
    proseFieldsCache.set(kind, (fields = lineColumns(kind).filter((c) => (c.type === "String" || c.type === "Json") && !skip.has(c.field)).map((c) => c.field)));
  }
  return fields;
}

/**
 * Rows to replace ids in, kept small (a million-record import can have fifty
 * thousand): per row its line, kind and one text holding its id and the ids
 * it waits for (a text of its own: a regex match would keep its whole prose).
 */
class TextFixups {
  lines: number[] = [];
  kinds: KindDef[] = [];
  texts: string[] = [];
  renames = new Map<number, string>();

  add(kind: KindDef, line: number, rename: string | undefined, id: string, waiting: string[]): void {
    this.lines.push(line);
    this.kinds.push(kind);
    this.texts.push([id, ...waiting].join(SEP));
    if (rename !== undefined) this.renames.set(line, rename);
  }
}
const SEP = "\u0000";
/** rows a replaceTexts call is given: what waits at the end of an import is a batch, not every row */
const REPLACE_BATCH = 200;

/** remapText over every text and JSON column of a record but those mapped already (other keys of a line are not written). */
function remapProse(kind: KindDef, row: Row, ids: IdMapping): void {
  for (const k of proseFields(kind)) if (row[k] !== undefined) row[k] = remapText(row[k], ids);
}

/** OVERWRITE replaces the record: what the archive leaves out of an optional field becomes null. */
function updateData(kind: KindDef, row: Row): Row {
  const data: Row = {};
  for (const c of lineColumns(kind)) {
    // an archive written without vectors says nothing about them: the stored ones stay
    if (c.field === "id" || (c.field === kind.vectorField && row[c.field] === undefined)) continue;
    const v = row[c.field] === undefined && !c.isRequired ? null : row[c.field];
    if (v !== undefined) data[c.field] = v;
  }
  return data;
}

const isObject = (v: unknown): v is Row => typeof v === "object" && v !== null && !Array.isArray(v);

/** JSON equality that ignores key order (PostgreSQL's jsonb keeps its own order). */
function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : isObject(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/**
 * Writes what the planner decides. Records arrive in file order, with their
 * references still as the file wrote them; the planner's id mapping says
 * what each becomes.
 */
interface Decided {
  kind: KindDef;
  data: Row;
  action: Action.Create | Action.Remap | Action.Update;
  rename: string | undefined;
  /** the source id (data.id becomes the target's once mapped) */
  id: string;
  /** its line: where the plan keeps the id it takes */
  line: number;
}

export class PlanWriter implements PlanSink {
  private writer: DriverWriter;
  private plan!: ImportPlan;
  private ids!: IdMapping;
  /**
   * Lines of records written while they named a record the planner had not
   * decided yet (a claim's gloss citing a later claim: its new id is not known
   * then). Their columns' references are always known (the planner holds a
   * record back until they are), so they are written at once, and rewritten
   * from the file once everything is decided — before the commit, so no
   * foreign id outlives the transaction. An entry a record is all it costs.
   */
  private fixups = new Map<number, { kind: KindDef; rename: string | undefined }>();
  /**
   * Most such records need no second reading: what they still hold of the
   * file's ids are whole UUIDs that nothing else in them can be, so the
   * written row has each replaced where it stands (replaceTexts) once it is
   * decided. The rest (ids of another shape, an id two kinds share, a row
   * that holds it elsewhere as another record's new id) go to `fixups`.
   */
  private textFixups = new TextFixups();

  constructor(
    private tx: DriverTx,
    private source: LineSource,
    private options: ApplyOptions,
  ) {
    // a statement's worth per model: what waits in buffers is live heap for the whole import
    this.writer = new DriverWriter(tx, 200);
  }

  async begin(plan: ImportPlan, ids: IdMapping): Promise<void> {
    this.plan = plan;
    this.ids = ids;
    await this.applyProfile(plan.metadata?.profile);
  }

  async placeholder(p: Placeholder): Promise<void> {
    const data = p.kind.placeholder!(p.sourceId);
    await this.writer.add(p.kind.model, { ...fromLineData(p.kind, { ...data, id: p.targetId }), ownerId: this.options.targetUserId });
  }

  record(kind: KindDef, line: number, data: Row, action: Action.Create | Action.Remap | Action.Update, rename: string | undefined): Promise<void> | void {
    const r = { kind, data, action, rename, id: data.id as string, line };
    const waiting = this.mapIds(r);
    if (waiting) {
      const target = this.ids.targetOfLine(line, r.id);
      // kept in one text with the ids it waits for: an id (no UUID) holding the separator goes the old way
      if (this.replaceableInPlace(waiting) && !target.includes(SEP)) this.textFixups.add(kind, line, rename, target, waiting);
      else this.fixups.set(line, { kind, rename });
    }
    return this.write(r);
  }

  /** True when each id the record could not map yet can be replaced wherever its text stands in the row. */
  private replaceableInPlace(waiting: string[]): boolean {
    if (this.ids.sharedIds || !waiting.every((t) => WHOLE_UUID.test(t))) return false;
    // another record's new id that holds one of them would be replaced too
    return !this.ids.substituted.some((s) => waiting.some((t) => s.includes(t)));
  }

  async end(): Promise<void> {
    await this.replaceTexts();
    await this.rewriteFixups();
    await this.writer.flush();
  }

  /**
   * Replaces the ids rows were written with before what they named was
   * decided, a batch of rows at a time; a row whose new ids would hold an old
   * one is left to rewriteFixups, which reads it from the file again.
   */
  private async replaceTexts(): Promise<void> {
    const { lines, kinds, texts, renames } = this.textFixups;
    this.textFixups = new TextFixups();
    const batches = new Map<KindDef, TextReplacement[]>();
    const send = (kind: KindDef) => this.writer.replaceTexts(kind.model, proseFields(kind), batches.get(kind)!.splice(0));
    for (let i = 0; i < lines.length; i++) {
      const [id, ...from] = texts[i].split(SEP);
      const pairs: [string, string][] = [];
      for (const t of from) {
        this.ids.undecided.length = 0;
        const to = this.ids.mapAnyId(t);
        if (this.ids.undecided.length) throw new Error(`import: line ${lines[i]} still names a record nothing decided`);
        if (to !== undefined) pairs.push([t, to]);
      }
      // applied one after another: a new id holding an old one would be replaced again
      if (pairs.some(([, to]) => from.some((t) => to.includes(t)))) this.fixups.set(lines[i], { kind: kinds[i], rename: renames.get(lines[i]) });
      else if (pairs.length) {
        const batch = batches.get(kinds[i]) ?? batches.set(kinds[i], []).get(kinds[i])!;
        if (batch.push({ id, pairs }) >= REPLACE_BATCH) await send(kinds[i]);
      }
    }
    this.ids.substituted.length = 0;
    for (const [kind, batch] of batches) if (batch.length) await send(kind);
  }

  /** The records written with ids not known then, read again and overwritten with every id mapped. */
  private async rewriteFixups(): Promise<void> {
    const fixups = this.fixups;
    if (!fixups.size) return;
    let left = fixups.size;
    const wanted = (line: number) => fixups.has(line);
    for await (const batch of this.source.only ? this.source.only(wanted) : this.source()) {
      for (const p of batch) {
        const f = fixups.get(p.line);
        if (!f || !p.ok) continue;
        const r: Decided = { kind: f.kind, data: p.data, action: Action.Update, rename: f.rename, id: p.data.id as string, line: p.line };
        if (this.mapIds(r)) throw new Error(`import: line ${p.line} still names a record nothing decided`);
        await this.write(r);
        if (--left === 0) return;
      }
    }
  }

  /**
   * Puts the ids the record names after the import in place of the file's,
   * in place; null, or the ids not known yet (they stay as they are).
   */
  private mapIds(r: Decided): string[] | null {
    const ids = this.ids;
    ids.undecided.length = 0;
    ids.substituted.length = 0;
    walkRefs(r.kind, r.data, (kinds, id) => ids.mapRef(kinds, id));
    if (ids.anyMoved) remapProse(r.kind, r.data, ids);
    return ids.undecided.length ? [...new Set(ids.undecided)] : null;
  }

  private write(r: Decided): Promise<void> | void {
    const row = this.targetRow(r);
    if (r.action === Action.Update) return this.writer.update(r.kind.model, row.id as string, updateData(r.kind, row));
    return this.writer.add(r.kind.model, row);
  }

  /** The record as the target user will hold it: ids remapped everywhere, owned by the target. */
  private targetRow({ kind, line, id, rename, data: row }: Decided): Row {
    row.id = this.ids.targetOfLine(line, id);
    if (rename) row.name = rename;
    // history rows name who changed the state: in someone else's archive that is someone we do not know
    const target = this.options.targetUserId;
    if (kind.kind === "memoryStatus" && (this.plan.crossUser || (row.changedById && row.changedById !== target))) row.changedById = target;
    const out = fromLineData(kind, row);
    out.ownerId = target;
    return out;
  }

  /**
   * A profile the file's metadata line carries for the account it came from
   * (OpenMemory's user block): `metadata` keys are merged into the target
   * user's metadata, `externalId` and `name` fill what the user lacks. Nothing
   * is written when nothing changes.
   */
  private async applyProfile(profile: unknown): Promise<void> {
    if (!isObject(profile)) return;
    const id = this.options.targetUserId;
    const user = modelInfos(this.tx.provider).get("User")!;
    const col = (f: string) => quote(user.byField.get(f)!.column);
    const sql = `SELECT ${col("externalId")}, ${col("name")}, ${col("metadata")} FROM ${quote(user.table)} WHERE ${col("id")} = ${this.tx.provider === "sqlite" ? "?" : "$1"}`;
    const [found] = await this.tx.rows(sql, [id]);
    if (!found) return;
    const [externalId, name, stored] = found as [string | null, string | null, unknown];
    // SQLite hands JSON over as its text, PostgreSQL parsed
    const metadata = typeof stored === "string" ? (JSON.parse(stored) as unknown) : stored;
    const data: Row = {};
    if (typeof profile.externalId === "string" && profile.externalId && !externalId) data.externalId = profile.externalId;
    if (typeof profile.name === "string" && profile.name && !name) data.name = profile.name;
    // metadata that is not an object is the user's own business: left alone
    if (isObject(profile.metadata) && (metadata === null || isObject(metadata))) {
      const current = (metadata ?? {}) as Row;
      const merged = { ...current, ...profile.metadata };
      if (!sameJson(merged, current)) data.metadata = merged;
    }
    if (Object.keys(data).length) await this.writer.update("User", id, data);
  }
}
