import type { LineProblemGroup } from "../engine/errors.js";
import type { ConflictGroup } from "../engine/import/conflict-groups.js";
import type { Conflict } from "../engine/import/types.js";

/** Malformed lines by fault, a line each: how many, what, where first. */
export function problemLines(groups: LineProblemGroup[]): string[] {
  return groups.map((g) => `  ${g.count} × ${g.kind ? `${g.kind}: ` : ""}${g.message} (line${g.count > 1 ? "s" : ""} ${g.lines.join(", ")}${g.count > g.lines.length ? ", …" : ""})`);
}

const SHOWN_LINES = 5;

/** Conflicts by type, kind and resolution, two lines each: how many, where first, and what one of them says. */
export function conflictLines(groups: ConflictGroup[], listed: Conflict[]): string[] {
  const example = new Map<string, Conflict>();
  const key = (type: string, kind: string, resolution: string) => `${type}\u0000${kind}\u0000${resolution}`;
  for (const c of listed) if (!example.has(key(c.type, c.kind, c.resolution))) example.set(key(c.type, c.kind, c.resolution), c);
  return groups.flatMap((g) => {
    const c = example.get(key(g.type, g.kind, g.resolution));
    const others = c?.allowedResolutions.filter((r) => r !== g.resolution) ?? [];
    const first = g.lines.slice(0, SHOWN_LINES);
    const where = `line${g.count > 1 ? "s" : ""} ${first.join(", ")}${g.count > first.length ? ", …" : ""}`;
    return [`  ${g.count} × ${g.kind} ${g.type} → ${g.resolution}${others.length ? ` (or ${others.join(", ")})` : ""}, ${where}`, ...(c ? [`      e.g. line ${c.line}: ${c.message}`] : [])];
  });
}
