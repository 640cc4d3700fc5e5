// Every conflict a plan found, tallied by type, kind and resolution as they
// come: a preview lists only the first MAX_LISTED_CONFLICTS, and a file of a
// million foreign records has a million conflicts, which a client reads here
// in a few lines instead of paging through them.
import type { ConflictType, Resolution } from "./types.js";

export interface ConflictGroup {
  type: ConflictType;
  kind: string;
  resolution: Resolution;
  count: number;
  /** the first lines planned, in file order (a line whose references point forward is planned late) */
  lines: number[];
}

/** lines a group lists */
export const CONFLICT_GROUP_LINES = 20;

export class ConflictGroups {
  // nested by type, kind, resolution: no key string built per conflict (a million of them)
  private byType = new Map<ConflictType, Map<string, Map<Resolution, ConflictGroup>>>();

  add(type: ConflictType, kind: string, resolution: Resolution, line: number): void {
    let byKind = this.byType.get(type);
    if (!byKind) this.byType.set(type, (byKind = new Map()));
    let byResolution = byKind.get(kind);
    if (!byResolution) byKind.set(kind, (byResolution = new Map()));
    let g = byResolution.get(resolution);
    if (!g) byResolution.set(resolution, (g = { type, kind, resolution, count: 0, lines: [] }));
    g.count++;
    if (g.lines.length < CONFLICT_GROUP_LINES) g.lines.push(line);
  }

  /** biggest first, then by first line; lines in file order (deferred lines are decided late) */
  list(): ConflictGroup[] {
    const all = [...this.byType.values()].flatMap((k) => [...k.values()].flatMap((r) => [...r.values()]));
    return all.map((g) => ({ ...g, lines: [...g.lines].sort((a, b) => a - b) })).sort((a, b) => b.count - a.count || a.lines[0] - b.lines[0]);
  }
}
