import { ForbiddenError, NotFoundError, ValidationError } from "../../engine/errors.js";
import { resolveExportFilter } from "../../engine/filter.js";
import { SECTIONS, type ExportFilter } from "../../engine/kinds/index.js";
import { exportStats, type ExportStats } from "../../engine/stats.js";
import { downloadTokenForJob, downloadUrl } from "../../http/downloads.js";
import { MAX_ATTEMPTS } from "../../jobs/export-jobs.js";
import { followProgress, type JobProgress } from "../../jobs/progress.js";
import { expireExportNow } from "../../jobs/sweeper.js";
import { builder } from "../builder.js";
import { notFound } from "./errors.js";
import type { Context } from "../context.js";

export const ExportFormatEnum = builder.enumType("ExportFormat", {
  values: {
    ZIP: { description: "native archive: manifest.json + records.jsonl.gz" },
    JSONL: { description: "the native record lines alone, gzipped" },
    OPENMEMORY: { description: "OpenMemory's own layout (memories.json + memories.jsonl.gz); memories only" },
  } as const,
});

export const SectionEnum = builder.enumType("ExportSection", { values: SECTIONS });

export const JobStatusEnum = builder.enumType("JobStatus", { values: ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "EXPIRED"] as const });

export const AnnotationTypeEnum = builder.enumType("AnnotationType", {
  values: { TYPE: { value: "type" }, OBJECT: { value: "object" } } as const,
});

export const KindCount = builder.objectRef<{ kind: string; count: number }>("KindCount").implement({
  description: "How many records of one kind (the kind name is the archive line `type`).",
  fields: (t) => ({ kind: t.exposeString("kind"), count: t.exposeInt("count") }),
});

export const toKindCounts = (counts: unknown) =>
  Object.entries((counts ?? {}) as Record<string, number>).map(([kind, count]) => ({ kind, count }));

export const ExportFilterInput = builder.inputType("ExportFilter", {
  description: "What to export. Records the selected ones need (their app, categories, persona, video, linked world objects) come along.",
  fields: (t) => ({
    sections: t.field({ type: [SectionEnum], required: false, description: "default: all" }),
    appId: t.id({ required: false, description: "memories of this app only" }),
    personaIds: t.idList({ required: false }),
    videoIds: t.idList({ required: false }),
    annotationTypes: t.field({ type: [AnnotationTypeEnum], required: false }),
    from: t.field({ type: "DateTime", required: false, description: "createdAt on or after (inclusive)" }),
    to: t.field({ type: "DateTime", required: false, description: "createdAt on or before (inclusive)" }),
    includeVectors: t.boolean({ required: false, description: "memory embeddings as base64 float32" }),
    includeInterpolated: t.boolean({ required: false, description: "also the interpolated boxes, not only keyframes" }),
  }),
});

const ExportBackupInput = builder.inputType("ExportBackupInput", {
  fields: (t) => ({
    format: t.field({ type: ExportFormatEnum, required: false, defaultValue: "ZIP" }),
    filter: t.field({ type: ExportFilterInput, required: false }),
    userId: t.id({ required: false, description: "admins only: export this user's data" }),
  }),
});

/** The user whose data is read: the viewer, or for admins whoever they name. */
async function exportOwner(ctx: Context, userId: string | null | undefined): Promise<string> {
  const viewer = ctx.viewer!;
  if (!userId || userId === viewer.id) return viewer.id;
  if (viewer.role !== "ADMIN") throw new ForbiddenError("only admins can export another user's data");
  const user = await ctx.services.db.user.findUnique({ where: { id: String(userId) }, select: { id: true } });
  if (!user) throw new NotFoundError(`no user ${userId}`);
  return user.id;
}

const Progress = builder.objectRef<{ recordsWritten: number; recordsTotal: number }>("JobProgress").implement({
  fields: (t) => ({
    recordsWritten: t.exposeInt("recordsWritten"),
    recordsTotal: t.exposeInt("recordsTotal"),
    fraction: t.float({ resolve: (p) => (p.recordsTotal ? Math.min(1, p.recordsWritten / p.recordsTotal) : 0) }),
  }),
});

export const ExportJobRef = builder.prismaObject("ExportJob", {
  description: "An export running or run in the background. `downloadUrl` appears once it SUCCEEDED.",
  fields: (t) => ({
    id: t.exposeID("id"),
    status: t.expose("status", { type: JobStatusEnum }),
    format: t.field({ type: ExportFormatEnum, resolve: (j) => j.format as "ZIP" | "JSONL" | "OPENMEMORY" }),
    filter: t.expose("filter", { type: "JSON" }),
    ownerId: t.exposeID("ownerId", { description: "the user whose data it holds" }),
    progress: t.field({ type: Progress, resolve: (j) => j }),
    counts: t.field({ type: [KindCount], resolve: (j) => toKindCounts(j.counts) }),
    byteSize: t.float({ nullable: true, resolve: (j) => (j.byteSize === null ? null : Number(j.byteSize)) }),
    sha256: t.exposeString("sha256", { nullable: true }),
    filename: t.exposeString("filename", { nullable: true }),
    error: t.exposeString("error", { nullable: true }),
    attempts: t.exposeInt("attempts", {
      description: `runs begun: a job its server stopped under (a restart, a deploy) is queued again and starts over, up to ${MAX_ATTEMPTS} runs`,
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    startedAt: t.expose("startedAt", { type: "DateTime", nullable: true }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
    expiresAt: t.expose("expiresAt", { type: "DateTime", nullable: true }),
    downloadUrl: t.string({
      nullable: true,
      description: "a signed link for the viewer, valid until the archive expires",
      resolve: (job, _args, ctx) => {
        if (job.status !== "SUCCEEDED" || !ctx.viewer) return null;
        const signed = downloadTokenForJob(ctx.services.downloadSecret, ctx.services.config, job, ctx.viewer.id);
        return signed ? downloadUrl(ctx.services.config, signed.token, ctx.request.url) : null;
      },
    }),
  }),
});

const ExportBackupSuccess = builder.objectRef<{ jobId: string }>("ExportBackupSuccess").implement({
  fields: (t) => ({
    job: t.prismaField({
      type: "ExportJob",
      resolve: (query, parent, _args, ctx) => ctx.services.db.exportJob.findUniqueOrThrow({ ...query, where: { id: parent.jobId } }),
    }),
  }),
});

/** Jobs a user may see: those they asked for, and exports of their own data. */
const visibleJobs = (viewerId: string) => ({ OR: [{ requestedById: viewerId }, { ownerId: viewerId }] });

builder.mutationField("exportBackup", (t) =>
  t.field({
    type: ExportBackupSuccess,
    description: "Starts an export job; follow it with `exportJob`, `exportJobs` or the `exportProgress` subscription.",
    authScopes: { authenticated: true },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], directResult: true, union: { name: "ExportBackupResult" } },
    args: { input: t.arg({ type: ExportBackupInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const ownerId = await exportOwner(ctx, input.userId);
      const filter = await resolveExportFilter(ctx.services.db, ownerId, input.filter as never);
      const job = await ctx.services.exportJobs.create({ requestedById: ctx.viewer!.id, ownerId, format: input.format ?? "ZIP", filter });
      return { jobId: job.id };
    },
  }),
);

/**
 * A mutation on one export job the viewer can see: `act` does it and says
 * whether it could; when it could not, the job's status is the ValidationError's reason.
 */
function jobMutation(
  name: string,
  description: string,
  act: (ctx: Context, jobId: string) => Promise<boolean>,
  refusal: (status: string) => string,
) {
  const typeName = `${name[0].toUpperCase()}${name.slice(1)}`;
  const Success = builder.objectRef<{ jobId: string }>(`${typeName}Success`).implement({
    fields: (t) => ({
      job: t.prismaField({
        type: "ExportJob",
        resolve: (query, parent, _args, ctx) => ctx.services.db.exportJob.findUniqueOrThrow({ ...query, where: { id: parent.jobId } }),
      }),
    }),
  });
  builder.mutationField(name, (t) =>
    t.field({
      type: Success,
      description,
      authScopes: { authenticated: true },
      errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: `${typeName}Result` } },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, ctx) => {
        const job = await ctx.services.db.exportJob.findFirst({ where: { id: String(id), ...visibleJobs(ctx.viewer!.id) }, select: { id: true } });
        if (!job) throw new NotFoundError(`no export job ${id}`);
        if (!(await act(ctx, job.id))) {
          const { status } = await ctx.services.db.exportJob.findUniqueOrThrow({ where: { id: job.id }, select: { status: true } });
          throw new ValidationError(refusal(status), [{ path: "id", message: `the job is ${status}` }]);
        }
        return { jobId: job.id };
      },
    }),
  );
}

jobMutation(
  "cancelExportJob",
  "Stops an export that has not finished (PENDING or RUNNING): it ends FAILED with the error `cancelled`, and no archive is kept. " +
    "A job that has finished is a ValidationError; one you cannot see, a NotFoundError.",
  (ctx, jobId) => ctx.services.exportJobs.cancel(jobId),
  (status) => `the export has finished (${status}): there is nothing to cancel`,
);

jobMutation(
  "deleteExportArchive",
  "Deletes a finished export's archive from the server now, before it would expire: the job becomes EXPIRED and its download links stop working " +
    "(a download under way may finish). Again on an EXPIRED job: nothing more to do. A job that has not SUCCEEDED is a ValidationError (`cancelExportJob` stops one running).",
  (ctx, jobId) => expireExportNow(ctx.services, ctx.services.store, jobId),
  (status) => `the export has no archive to delete: it is ${status}`,
);

builder.queryField("exportJob", (t) =>
  t.prismaField({
    type: "ExportJob",
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) => ctx.services.db.exportJob.findFirst({ ...query, where: { id: String(id), ...visibleJobs(ctx.viewer!.id) } }),
  }),
);

builder.queryField("exportJobs", (t) =>
  t.prismaConnection({
    type: "ExportJob",
    cursor: "id",
    authScopes: { authenticated: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.services.db.exportJob.findMany({ ...query, where: visibleJobs(ctx.viewer!.id), orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
  }),
);

const ExportProgressEvent = builder.objectRef<JobProgress>("ExportProgress").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    status: t.field({ type: JobStatusEnum, resolve: (p) => p.status }),
    recordsWritten: t.exposeInt("recordsWritten"),
    recordsTotal: t.exposeInt("recordsTotal"),
    job: t.prismaField({
      type: "ExportJob",
      resolve: (query, p, _args, ctx) => ctx.services.db.exportJob.findUniqueOrThrow({ ...query, where: { id: p.id } }),
    }),
  }),
});

builder.subscriptionField("exportProgress", (t) =>
  t.field({
    type: ExportProgressEvent,
    description: "Progress of an export job until it ends (server-sent events).",
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, { id }, ctx) => {
      const jobId = String(id);
      const { db, pubsub } = ctx.services;
      return followProgress(pubsub.subscribe("exportProgress", jobId), async () => {
        const job = await db.exportJob.findFirst({ where: { id: jobId, ...visibleJobs(ctx.viewer!.id) } });
        if (!job) throw notFound(`no export job ${jobId}`);
        return { id: job.id, status: job.status, recordsWritten: job.recordsWritten, recordsTotal: job.recordsTotal };
      });
    },
    resolve: (event) => event,
  }),
);

const ExportStatsRef = builder.objectRef<ExportStats>("ExportStats").implement({
  description: "What an export with this filter would hold, for the viewer's own data.",
  fields: (t) => ({
    counts: t.field({ type: [KindCount], resolve: (s) => toKindCounts(s.counts) }),
    total: t.exposeInt("total"),
    keyframeCount: t.exposeInt("keyframeCount", { description: "keyframe boxes of the selected annotations" }),
    interpolatedFrameCount: t.exposeInt("interpolatedFrameCount", { description: "interpolated boxes, counted whether or not they are exported" }),
    sequenceCount: t.exposeInt("sequenceCount", { description: "bounding-box sequences (one per annotation)" }),
    estimatedBytes: t.float({ resolve: (s) => s.estimatedBytes, description: "expected size of a ZIP export" }),
    warning: t.exposeString("warning", { nullable: true }),
  }),
});

builder.queryField("exportStats", (t) =>
  t.field({
    type: ExportStatsRef,
    authScopes: { authenticated: true },
    errors: { types: [ValidationError], directResult: true, union: { name: "ExportStatsResult" } },
    args: { filter: t.arg({ type: ExportFilterInput, required: false }) },
    resolve: async (_root, { filter }, ctx) => {
      const f: ExportFilter = await resolveExportFilter(ctx.services.db, ctx.viewer!.id, filter as never);
      return exportStats(ctx.services.db, ctx.viewer!.id, f);
    },
  }),
);
