import type { LineProblemGroup } from "../engine/errors.js";

/** Malformed lines by fault, a line each: how many, what, where first. */
export function problemLines(groups: LineProblemGroup[]): string[] {
  return groups.map((g) => `  ${g.count} × ${g.kind ? `${g.kind}: ` : ""}${g.message} (line${g.count > 1 ? "s" : ""} ${g.lines.join(", ")}${g.count > g.lines.length ? ", …" : ""})`);
}
