import type { ExportFilter } from "../engine/kinds/index.js";

/** The filter as stored on the job (JSON) and read back; also how it travels to an export worker. */
export function storedFilter(filter: ExportFilter): Record<string, unknown> {
  return { ...filter, from: filter.from?.toISOString() ?? null, to: filter.to?.toISOString() ?? null };
}

export function filterFromStored(json: unknown): ExportFilter {
  const f = json as Record<string, unknown>;
  return { ...(f as unknown as ExportFilter), from: f.from ? new Date(f.from as string) : null, to: f.to ? new Date(f.to as string) : null };
}
