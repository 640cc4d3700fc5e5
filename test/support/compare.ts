// Compares two exports "except ids": records are matched by their content with
// every id blanked; records that only differ by what they point at (links)
// are matched next, through the ids matched so far.
import type { Line } from "./archive.js";

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Ids inside prose follow the same translation as declared references. */
function prose(value: unknown, ref: (id: string) => string | undefined): unknown {
  if (typeof value === "string") return value.replace(UUID, (m) => ref(m) ?? m);
  if (Array.isArray(value)) return value.map((v) => prose(v, ref));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, prose(v, ref)]));
  return value;
}

function keyOf(line: Line, ref: (id: string) => string | undefined): string {
  const data = structuredClone(line.data);
  delete data.id;
  // every id here is a UUID, so one textual pass translates references and prose alike
  const text = prose(data, (id) => ref(id) ?? "·") as Record<string, unknown>;
  return `${line.type}\u0000${JSON.stringify(text, Object.keys(text).sort())}`;
}

function group(lines: Line[], ref: (id: string) => string | undefined) {
  const m = new Map<string, Line[]>();
  for (const l of lines) {
    const k = keyOf(l, ref);
    (m.get(k) ?? m.set(k, []).get(k)!).push(l);
  }
  return m;
}

/** Maps ids of `a` to ids of `b` by content; throws when they do not match one to one. */
export function matchRecords(a: Line[], b: Line[]): Map<string, string> {
  const map = new Map<string, string>();
  let left = a.filter((l) => l.type !== "metadata");
  let right = b.filter((l) => l.type !== "metadata");
  const matchedB = new Set<string>();
  for (let round = 0; left.length && round < 10; round++) {
    // a's references translated through the matches so far; b's references stay b's own ids
    const ga = group(left, (id) => map.get(id) ?? (round ? undefined : "·"));
    const gb = group(right, (id) => (round && matchedB.has(id) ? id : round ? undefined : "·"));
    const next: Line[] = [];
    for (const [k, as] of ga) {
      const bs = gb.get(k);
      if (bs && as.length === 1 && bs.length === 1) {
        map.set(as[0].data.id as string, bs[0].data.id as string);
        matchedB.add(bs[0].data.id as string);
      } else next.push(...as);
    }
    if (next.length === left.length && round) break;
    left = next;
    right = right.filter((l) => !matchedB.has(l.data.id as string));
  }
  if (left.length) throw new Error(`records without a counterpart: ${left.slice(0, 5).map((l) => `${l.type} ${l.data.id}`).join(", ")} (${left.length})`);
  if (right.length) throw new Error(`records only in the second export: ${right.slice(0, 5).map((l) => `${l.type} ${l.data.id}`).join(", ")}`);
  return map;
}

/** Records of `a` with every id translated through `map`, sorted, for deep comparison with `b`'s. */
export function translated(a: Line[], map: Map<string, string>): Record<string, unknown>[] {
  return a
    .filter((l) => l.type !== "metadata")
    .map((l) => {
      const data = structuredClone(l.data);
      data.id = map.get(data.id as string) ?? data.id;
      return { type: l.type, data: prose(data, (id) => map.get(id)) as Record<string, unknown> };
    })
    .sort((x, y) => `${x.type}${x.data.id}`.localeCompare(`${y.type}${y.data.id}`));
}

export function sortedRecords(lines: Line[]) {
  return lines
    .filter((l) => l.type !== "metadata")
    .map((l) => ({ type: l.type, data: l.data }))
    .sort((x, y) => `${x.type}${x.data.id}`.localeCompare(`${y.type}${y.data.id}`));
}
