// Export filters as clients send them, checked against the owner's data.
import { z } from "zod";
import type { Db } from "../db/client.js";
import { ValidationError, type FieldIssue } from "./errors.js";
import { ALL_SECTIONS, SECTIONS, type ExportFilter } from "./kinds/index.js";

export const exportFilterInput = z.object({
  sections: z.array(z.enum(SECTIONS)).nullish(),
  appId: z.string().min(1).nullish(),
  personaIds: z.array(z.string().min(1)).max(10_000).nullish(),
  videoIds: z.array(z.string().min(1)).max(10_000).nullish(),
  annotationTypes: z.array(z.enum(["type", "object"])).nullish(),
  from: z.date().nullish(),
  to: z.date().nullish(),
  includeVectors: z.boolean().nullish(),
  includeInterpolated: z.boolean().nullish(),
});

export type ExportFilterInput = z.input<typeof exportFilterInput>;

/**
 * Validates a filter for one owner. Ids that are not the owner's are reported
 * exactly like ids that do not exist: nobody learns about another user's data.
 */
export async function resolveExportFilter(db: Db, ownerId: string, input: ExportFilterInput | null | undefined): Promise<ExportFilter> {
  const parsed = exportFilterInput.safeParse(input ?? {});
  if (!parsed.success) {
    throw new ValidationError("invalid export filter", parsed.error.issues.map((i) => ({ path: `filter.${i.path.join(".")}`, message: i.message })));
  }
  const f = parsed.data;
  const issues: FieldIssue[] = [];
  if (f.from && f.to && f.to < f.from) issues.push({ path: "filter.to", message: "`to` is before `from`" });
  if (f.sections && !f.sections.length) issues.push({ path: "filter.sections", message: "name at least one section, or leave it out for all" });
  if (f.appId && !(await db.app.findFirst({ where: { id: f.appId, ownerId }, select: { id: true } }))) {
    issues.push({ path: "filter.appId", message: `no app ${f.appId} among your apps` });
  }
  const missing = async (ids: string[] | null | undefined, find: (ids: string[]) => Promise<{ id: string }[]>) => {
    if (!ids?.length) return [];
    const found = new Set((await find([...new Set(ids)])).map((r) => r.id));
    return ids.filter((id) => !found.has(id));
  };
  const personas = await missing(f.personaIds, (ids) => db.persona.findMany({ where: { id: { in: ids }, ownerId }, select: { id: true } }));
  if (personas.length) issues.push({ path: "filter.personaIds", message: `not among your personas: ${personas.slice(0, 5).join(", ")}` });
  const videos = await missing(f.videoIds, (ids) => db.video.findMany({ where: { id: { in: ids }, ownerId }, select: { id: true } }));
  if (videos.length) issues.push({ path: "filter.videoIds", message: `not among your videos: ${videos.slice(0, 5).join(", ")}` });
  if (issues.length) throw new ValidationError(issues.map((i) => i.message).join("; "), issues);
  return {
    sections: f.sections ? [...new Set(f.sections)] : [...ALL_SECTIONS],
    appId: f.appId ?? null,
    personaIds: f.personaIds ?? null,
    videoIds: f.videoIds ?? null,
    annotationTypes: f.annotationTypes ?? null,
    from: f.from ?? null,
    to: f.to ?? null,
    includeVectors: f.includeVectors ?? false,
    includeInterpolated: f.includeInterpolated ?? false,
  };
}
