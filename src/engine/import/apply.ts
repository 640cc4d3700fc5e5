// Applies an import plan as the planner makes it: each decided record is
// written at once, inserts batched through the driver writer, overwrites as
// updates, everything inside the import's transaction — all or nothing.
import { modelInfos, quote } from "../../db/bulk.js";
import type { DriverTx } from "../../db/driver-tx.js";
import { DriverWriter } from "../../db/driver-write.js";
import { fromLineData, lineColumns, walkRefs, type KindDef, type KindName, type Row } from "../kinds/index.js";
import { Action, type IdMapping, type ImportPlan, type Placeholder, type PlanSink } from "./plan.js";

export interface ApplyOptions {
  targetUserId: string;
  onProgress?: (done: number, total: number) => void;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Ids written into prose and undeclared places (claim text "X has collided
 * with Y", metadata): every UUID-shaped substring the import remapped is
 * replaced, wherever it stands, so no old id survives. In place: the record
 * is the import's own copy.
 */
function remapText(value: unknown, ids: IdMapping): unknown {
  if (typeof value === "string") return value.length < 36 ? value : value.replace(UUID, (m) => ids.mapAnyId(m) ?? m);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = remapText(value[i], ids);
  } else if (value && typeof value === "object") {
    const o = value as Row;
    for (const k in o) o[k] = remapText(o[k], ids);
  }
  return value;
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
interface Held {
  kind: KindDef;
  line: number;
  data: Row;
  action: Action.Create | Action.Remap | Action.Update;
  rename: string | undefined;
  /** the source id (data.id becomes the target's once mapped) */
  id: string;
}

export class PlanWriter implements PlanSink {
  private writer: DriverWriter;
  private plan!: ImportPlan;
  private ids!: IdMapping;
  private done = 0;
  /**
   * Records that name a record the planner has not decided yet (a claim's
   * gloss citing a later claim), or one held here: written once it is, so
   * what they say of it is its id after the import. A file in dependency
   * order holds only such citations, and each only until its page is decided.
   */
  private held = new Map<number, Held>();
  private heldById = new Map<string, Held>();

  constructor(
    private tx: DriverTx,
    private options: ApplyOptions,
  ) {
    this.writer = new DriverWriter(tx);
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

  async record(kind: KindDef, line: number, data: Row, action: Action.Create | Action.Remap | Action.Update, rename: string | undefined): Promise<void> {
    const r = { kind, line, data, action, rename, id: data.id as string };
    if (this.mapIds(r)) await this.write(r);
    else {
      this.held.set(line, r);
      // what points at it names it by the file's id, or by its own once mapped
      this.heldById.set(r.id, r);
      this.heldById.set(this.ids.mapRef([kind.kind], r.id) ?? r.id, r);
    }
  }

  async decided(): Promise<void> {
    // in line order, again while something went: a record may wait for one held before it
    for (let progress = true; progress && this.held.size; ) {
      progress = false;
      for (const r of [...this.held.values()].sort((a, b) => a.line - b.line)) {
        if (!this.mapIds(r)) continue;
        this.held.delete(r.line);
        this.heldById.delete(r.id);
        this.heldById.delete(this.ids.mapRef([r.kind.kind], r.id) ?? r.id);
        await this.write(r);
        progress = true;
      }
    }
  }

  async end(): Promise<void> {
    // everything is decided now; what still waits waits for a record that is held itself (a cycle of citations)
    await this.decided();
    for (const r of [...this.held.values()].sort((a, b) => a.line - b.line)) await this.write(r);
    this.held.clear();
    this.heldById.clear();
    await this.writer.flush();
    this.options.onProgress?.(this.plan.records, this.plan.records);
  }

  private heldRef(kinds: readonly KindName[], id: string): boolean {
    const h = this.heldById.get(id);
    return h !== undefined && kinds.includes(h.kind.kind);
  }

  /**
   * Puts the ids the record names after the import in place of the file's,
   * in place; true when all are known. Otherwise the ids of records not
   * decided yet stay as they are, to be mapped by the next call — an id
   * already mapped is no id of the file, so mapping again leaves it — and
   * the record waits. It waits too while a record its columns point at is
   * held: foreign keys want that one written first.
   */
  private mapIds(r: Held): boolean {
    const ids = this.ids;
    ids.sawUndecided = false;
    let waitsForHeld = false;
    const row = r.data;
    walkRefs(r.kind, row, (kinds, id) => {
      const mapped = ids.mapRef(kinds, id);
      if (this.held.size && this.heldRef(kinds, id)) waitsForHeld = true;
      return mapped;
    });
    if (ids.anyMoved) remapText(row, ids);
    return !ids.sawUndecided && !waitsForHeld;
  }

  private async write(r: Held): Promise<void> {
    const row = this.targetRow(r.kind, r.id, r.data, r.rename);
    if (r.action === Action.Update) await this.writer.update(r.kind.model, row.id as string, updateData(r.kind, row));
    else await this.writer.add(r.kind.model, row);
    if (++this.done % 1000 === 0) this.options.onProgress?.(this.done, this.plan.records);
  }

  /** The record as the target user will hold it: ids remapped everywhere, owned by the target. */
  private targetRow(kind: KindDef, sourceId: string, row: Row, rename: string | undefined): Row {
    row.id = this.ids.mapRef([kind.kind], sourceId) ?? sourceId;
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
