// Applies an import plan: one pass over the file in order, inserts batched
// through the bulk writer, overwrites as updates, everything inside the
// caller's transaction — all or nothing.
import { BulkWriter } from "../../db/bulk.js";
import type { Db } from "../../db/client.js";
import { DbNull } from "../../generated/sqlite/internal/prismaNamespace.js";
import { fromLineData, kindDef, lineColumns, lineSchema, walkRefs, type KindDef, type KindName, type Row } from "../kinds/index.js";
import { delegate } from "../records.js";
import { Action, type ImportPlan } from "./plan.js";
import type { LineSource } from "./types.js";

const key = (kind: KindName, id: string) => `${kind}\u0000${id}`;

export interface ApplyOptions {
  targetUserId: string;
  onProgress?: (done: number, total: number) => void;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Ids written into prose and undeclared places (claim text "X has collided
 * with Y", metadata): every UUID-shaped substring the import remapped is
 * replaced, wherever it stands, so no old id survives.
 */
function remapText(value: unknown, byId: Map<string, string>): unknown {
  if (typeof value === "string") return value.replace(UUID, (m) => byId.get(m.toLowerCase()) ?? m);
  if (Array.isArray(value)) return value.map((v) => remapText(v, byId));
  if (value && typeof value === "object") {
    const out: Row = {};
    for (const [k, v] of Object.entries(value)) out[k] = remapText(v, byId);
    return out;
  }
  return value;
}

/** The record as the target user will hold it: ids remapped everywhere, owned by the target. */
function targetRow(plan: ImportPlan, byId: Map<string, string>, kind: KindDef, line: number, data: Row, targetUserId: string): Row {
  let row = structuredClone(data);
  row.id = plan.idMap.get(key(kind.kind, row.id as string)) ?? row.id;
  walkRefs(kind, row, (kinds, id) => {
    for (const k of kinds) {
      const mapped = plan.idMap.get(key(k, id));
      if (mapped) return mapped;
    }
    return undefined;
  });
  if (byId.size) row = remapText(row, byId) as Row;
  const rename = plan.renames.get(line);
  if (rename) row.name = rename;
  // history rows name who changed the state: in someone else's archive that is someone we do not know
  if (kind.kind === "memoryStatus" && (plan.crossUser || (row.changedById && row.changedById !== targetUserId))) row.changedById = targetUserId;
  return { ...fromLineData(kind, row), ownerId: targetUserId };
}

/** OVERWRITE replaces the record: what the archive leaves out of an optional field becomes null. */
function updateData(kind: KindDef, row: Row): Row {
  const data: Row = {};
  for (const c of lineColumns(kind)) {
    // an archive written without vectors says nothing about them: the stored ones stay
    if (c.field === "id" || (c.field === kind.vectorField && row[c.field] === undefined)) continue;
    const v = row[c.field] === undefined && !c.isRequired ? null : row[c.field];
    if (v === undefined) continue;
    // a JSON column set to null is SQL NULL, which Prisma spells DbNull
    data[c.field] = v === null && c.type === "Json" ? DbNull : v;
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
 * A profile the file's metadata line carries for the account it came from
 * (OpenMemory's user block): `metadata` keys are merged into the target
 * user's metadata, `externalId` and `name` fill what the user lacks. Nothing
 * is written when nothing changes.
 */
async function applyProfile(tx: Db, targetUserId: string, profile: unknown): Promise<void> {
  if (!isObject(profile)) return;
  const user = await tx.user.findUnique({ where: { id: targetUserId }, select: { externalId: true, name: true, metadata: true } });
  if (!user) return;
  const data: Row = {};
  if (typeof profile.externalId === "string" && profile.externalId && !user.externalId) data.externalId = profile.externalId;
  if (typeof profile.name === "string" && profile.name && !user.name) data.name = profile.name;
  // metadata that is not an object is the user's own business: left alone
  if (isObject(profile.metadata) && (user.metadata === null || isObject(user.metadata))) {
    const current = (user.metadata ?? {}) as Row;
    const merged = { ...current, ...profile.metadata };
    if (!sameJson(merged, current)) data.metadata = merged;
  }
  if (Object.keys(data).length) await tx.user.update({ where: { id: targetUserId }, data });
}

export async function applyPlan(tx: Db, plan: ImportPlan, source: LineSource, options: ApplyOptions): Promise<void> {
  await applyProfile(tx, options.targetUserId, plan.metadata?.profile);
  const writer = new BulkWriter(tx as never, { batchSize: 1000 });
  const total = Object.values(plan.counts).reduce((a, c) => a + c.create + c.update + c.remap, 0);
  let done = 0;
  const tick = (n = 1) => {
    done += n;
    if (done % 1000 === 0 || done === total) options.onProgress?.(done, total);
  };

  for (const p of plan.placeholders) {
    const data = p.kind.placeholder!(p.sourceId);
    await writer.add(p.kind.model, { ...fromLineData(p.kind, { ...data, id: p.targetId }), ownerId: options.targetUserId });
    tick();
  }

  const byId = new Map<string, string>();
  for (const [k, target] of plan.idMap) byId.set(k.slice(k.indexOf("\u0000") + 1).toLowerCase(), target);
  const deferred = new Set(plan.deferred);
  const held = new Map<number, { kind: KindDef; data: Row }>();
  const write = async (kind: KindDef, line: number, data: Row) => {
    const action = plan.actions[line];
    if (action !== Action.Create && action !== Action.Remap && action !== Action.Update) return;
    const row = targetRow(plan, byId, kind, line, data, options.targetUserId);
    if (action === Action.Update) {
      await writer.flush();
      await delegate(tx, kind).update({ where: { id: row.id }, data: updateData(kind, row) });
    } else await writer.add(kind.model, row);
    tick();
  };

  for await (const batch of source()) {
    for (const p of batch) {
      if (!p.ok || p.line >= plan.actions.length || plan.actions[p.line] === Action.None) continue;
      const kind = kindDef(p.type);
      if (!kind) continue;
      // the planner validated this line; parsing again yields the same clean data
      const data = lineSchema(kind).parse(p.data) as Row;
      if (deferred.has(p.line)) held.set(p.line, { kind, data });
      else await write(kind, p.line, data);
    }
  }
  for (const line of plan.deferred) {
    const h = held.get(line);
    if (h) await write(h.kind, line, h.data);
  }
  await writer.flush();
  options.onProgress?.(total, total);
}
