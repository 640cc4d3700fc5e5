// Which resolution a conflict gets: per-conflict choice, then per-kind choice,
// then the mode (duplicate ids), then the suggestion.
import { ValidationError } from "../errors.js";
import type { Conflict, ConflictType, ImportOptions, Resolution } from "./types.js";

export const ALLOWED: Record<ConflictType, Resolution[]> = {
  DuplicateIdConflict: ["SKIP", "OVERWRITE", "CREATE_NEW"],
  NaturalKeyConflict: ["MERGE", "OVERWRITE", "RENAME", "SKIP"],
  ForeignRecordConflict: ["CREATE_NEW"],
  MissingReferenceConflict: ["SKIP_RECORD", "CREATE_PLACEHOLDER", "FAIL"],
};

export function chooseResolution(options: ImportOptions, c: Omit<Conflict, "resolution">): Resolution {
  const byId = options.resolutions.find((r) => r.conflictId && r.conflictId === c.id);
  if (byId && c.allowedResolutions.includes(byId.resolution)) return byId.resolution;
  const byKind = options.resolutions.find((r) => !r.conflictId && r.kind === c.kind && c.allowedResolutions.includes(r.resolution));
  if (byKind) return byKind.resolution;
  if (c.type === "DuplicateIdConflict") return options.mode === "OVERWRITE" ? "OVERWRITE" : "SKIP";
  return c.suggestedResolution;
}

/** A per-conflict choice that the conflict does not allow is the client's mistake, said plainly. */
export function checkResolutionInput(options: ImportOptions, conflicts: Conflict[]): void {
  const byId = new Map(conflicts.map((c) => [c.id, c]));
  const issues = [];
  for (const [i, r] of options.resolutions.entries()) {
    if (!r.conflictId && !r.kind) issues.push({ path: `resolutions[${i}]`, message: "name a conflictId or a kind" });
    const c = r.conflictId ? byId.get(r.conflictId) : undefined;
    if (c && !c.allowedResolutions.includes(r.resolution)) {
      issues.push({ path: `resolutions[${i}].resolution`, message: `${r.resolution} is not allowed for ${c.type} (allowed: ${c.allowedResolutions.join(", ")})` });
    }
  }
  if (issues.length) throw new ValidationError(issues.map((i) => i.message).join("; "), issues);
}
