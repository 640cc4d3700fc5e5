// What the planner asks of the target database, a page at a time, in SQL on
// the import's own read connection (the driver's: a snapshot as the import's
// transaction began, or the preview's snapshot): which ids exist and whose, and which of the
// target user's records hold a natural key. One statement per question and
// page: a list travels as one bound value (a JSON array on SQLite, a text[]
// on PostgreSQL), so the statement text never varies with the list.
//
// The answers never need what this import has written so far, which lets them
// come from a read connection that sees only what was committed before the
// import (driver-tx.ts: on SQLite and on PostgreSQL), not after its queued inserts: ids of the file are
// known from pass A, natural keys planned earlier from the planner's own map,
// placeholders from FileIds; an id the import gives (derived from the file's,
// or salted) is no id anything earlier wrote.
import { modelInfos } from "../../db/models.js";
import { quote } from "../../db/values.js";
import type { RawReader } from "../../db/raw.js";
import type { KindDef } from "../kinds/index.js";

const CHUNK = 1000;

function table(reader: RawReader, kind: KindDef) {
  const info = modelInfos(reader.provider).get(kind.model)!;
  const col = (field: string) => quote(info.byField.get(field)!.column);
  return { name: quote(info.table), col };
}

/** id → owned by `ownerId` (true) or by someone else (false), for the ids among `ids` that exist. */
export async function owners(reader: RawReader, kind: KindDef, ids: readonly string[], ownerId: string): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  if (!ids.length) return out;
  const t = table(reader, kind);
  const list = reader.provider === "sqlite" ? "(SELECT value FROM json_each(?))" : "(SELECT unnest($1::text[]))";
  const sql = `SELECT ${t.col("id")}, ${t.col("ownerId")} FROM ${t.name} WHERE ${t.col("id")} IN ${list}`;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    for (const [id, owner] of await reader.rows(sql, [reader.provider === "sqlite" ? JSON.stringify(chunk) : chunk])) out.set(id as string, owner === ownerId);
  }
  return out;
}

/**
 * For natural-key tuples (strings, in the order of kind.naturalKey): the
 * tuple's JSON text → the id of the owner's record holding it. Tuples nobody
 * holds are absent.
 */
export async function naturalKeyHolders(reader: RawReader, kind: KindDef, tuples: readonly string[][], ownerId: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const fields = kind.naturalKey!;
  if (!tuples.length) return out;
  const t = table(reader, kind);
  const cols = fields.map(t.col);
  const lhs = cols.length === 1 ? cols[0] : `(${cols.join(", ")})`;
  const sqlite = reader.provider === "sqlite";
  const rhs = sqlite
    ? `(SELECT ${fields.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ")} FROM json_each(?))`
    : `(SELECT * FROM unnest(${fields.map((_, i) => `$${i + 2}::text[]`).join(", ")}))`;
  const sql = `SELECT ${t.col("id")}, ${cols.join(", ")} FROM ${t.name} WHERE ${t.col("ownerId")} = ${sqlite ? "?" : "$1"} AND ${lhs} IN ${rhs}`;
  for (let i = 0; i < tuples.length; i += CHUNK) {
    const chunk = tuples.slice(i, i + CHUNK);
    const params = sqlite ? [ownerId, JSON.stringify(chunk)] : [ownerId, ...fields.map((_, j) => chunk.map((tuple) => tuple[j]))];
    for (const [id, ...values] of await reader.rows(sql, params)) out.set(JSON.stringify(values), id as string);
  }
  return out;
}
