import { wrapErrorIfMatches } from "@pothos/plugin-errors";
import { resolveArrayConnection } from "@pothos/plugin-relay";
import {
  ForbiddenError,
  InvalidArchiveError,
  NotFoundError,
  StowageError,
  UnsupportedFormatVersionError,
  UploadTooLargeError,
  ValidationError,
} from "../../engine/errors.js";
import type { ImportPlan } from "../../engine/import/plan.js";
import { conflictGroupsOf, failureFrom, KEPT_PROBLEMS } from "../../engine/import/history.js";
import { importArchive, previewArchive } from "../../engine/import/service.js";
import { CONFLICT_GROUP_LINES, type ConflictGroup } from "../../engine/import/conflict-groups.js";
import { CONFLICT_TYPES, type Conflict, type ImportOptions, type KindPlanCounts, type Resolution } from "../../engine/import/types.js";
import { kindDef } from "../../engine/kinds/index.js";
import { followProgress, throttle, type JobProgress, type PreviewProgress } from "../../jobs/progress.js";
import { builder } from "../builder.js";
import { ErrorInterface, LineProblemGroupRef, notFound } from "./errors.js";
import type { Context } from "../context.js";
import { JobStatusEnum } from "./exports.js";
import { ArchiveFormatEnum, resolveUploadArg } from "./uploads.js";

const RESOLUTIONS = ["SKIP", "OVERWRITE", "CREATE_NEW", "MERGE", "RENAME", "SKIP_RECORD", "CREATE_PLACEHOLDER", "FAIL"] as const;

const ImportModeEnum = builder.enumType("ImportMode", {
  values: {
    SKIP: { description: "records you already have (same id) stay as they are" },
    OVERWRITE: { description: "records you already have (same id) take the archive's values" },
  } as const,
});

const ResolutionEnum = builder.enumType("ConflictResolution", { values: RESOLUTIONS });

const ConflictTypeEnum = builder.enumType("ConflictType", { description: "The member of the `Conflict` union (its `__typename`).", values: CONFLICT_TYPES });

const ConflictGroupRef = builder.objectRef<ConflictGroup>("ConflictGroup").implement({
  description: "Every conflict of one type and record kind that gets one resolution, however many: the `conflicts` connection lists only the first 10,000.",
  fields: (t) => ({
    type: t.field({ type: ConflictTypeEnum, resolve: (g) => g.type }),
    kind: t.exposeString("kind"),
    resolution: t.field({ type: ResolutionEnum, resolve: (g) => g.resolution }),
    count: t.exposeInt("count"),
    lines: t.exposeIntList("lines", {
      description: `the first ${CONFLICT_GROUP_LINES} lines planned, in file order (a line whose references point forward is planned late)`,
    }),
  }),
});

const ResolutionInputRef = builder.inputType("ConflictResolutionInput", {
  description: "A choice for one conflict (`conflictId`) or for every conflict of a record kind (`kind`, e.g. `app`) that allows it.",
  fields: (t) => ({
    conflictId: t.id({ required: false }),
    kind: t.string({ required: false }),
    resolution: t.field({ type: ResolutionEnum, required: true }),
  }),
});

const ImportOptionsInput = builder.inputType("ImportOptions", {
  fields: (t) => ({
    mode: t.field({ type: ImportModeEnum, required: false, defaultValue: "SKIP" }),
    resolutions: t.field({ type: [ResolutionInputRef], required: false }),
    strict: t.boolean({ required: false, defaultValue: true, description: "a malformed line fails the whole import (default); false skips it with a warning" }),
    targetUserId: t.id({ required: false, description: "admins only: import into this user's account" }),
  }),
});

const ImportBackupInput = builder.inputType("ImportBackupInput", {
  description: "Give exactly one of `file` and `uploadId`.",
  fields: (t) => ({
    file: t.field({ type: "Upload", required: false }),
    uploadId: t.id({ required: false }),
    mode: t.field({ type: ImportModeEnum, required: false, defaultValue: "SKIP" }),
    resolutions: t.field({ type: [ResolutionInputRef], required: false }),
    strict: t.boolean({ required: false, defaultValue: true }),
    targetUserId: t.id({ required: false, description: "admins only: import into this user's account" }),
  }),
});

type OptionsArg = { mode?: "SKIP" | "OVERWRITE" | null; resolutions?: { conflictId?: string | number | null; kind?: string | null; resolution: Resolution }[] | null; strict?: boolean | null; targetUserId?: string | number | null };

function importOptions(o: OptionsArg | null | undefined): ImportOptions {
  const resolutions = (o?.resolutions ?? []).map((r, i) => {
    if (r.kind && !kindDef(r.kind)) throw new ValidationError(`unknown record kind "${r.kind}"`, [{ path: `resolutions[${i}].kind`, message: "not a record kind" }]);
    return { conflictId: r.conflictId == null ? null : String(r.conflictId), kind: r.kind ?? null, resolution: r.resolution };
  });
  return { mode: o?.mode ?? "SKIP", strict: o?.strict ?? true, resolutions };
}

/** The account imported into: the viewer, or for admins whoever they name. */
async function importTarget(ctx: Context, targetUserId: string | number | null | undefined): Promise<string> {
  const viewer = ctx.viewer!;
  if (targetUserId == null || String(targetUserId) === viewer.id) return viewer.id;
  if (viewer.role !== "ADMIN") throw new ForbiddenError("only admins can import into another user's account");
  const user = await ctx.services.db.user.findUnique({ where: { id: String(targetUserId) }, select: { id: true } });
  if (!user) throw new NotFoundError(`no user ${targetUserId}`);
  return user.id;
}

// ---------- result types ----------

const KindImportCounts = builder.objectRef<KindPlanCounts & { kind: string }>("KindImportCounts").implement({
  description: "What an import does to one kind: creates (same id), updates, skips, and creates under a new id (remap).",
  fields: (t) => ({
    kind: t.exposeString("kind"),
    create: t.exposeInt("create"),
    update: t.exposeInt("update"),
    skip: t.exposeInt("skip"),
    remap: t.exposeInt("remap"),
  }),
});

const toKindImportCounts = (counts: unknown) =>
  Object.entries((counts ?? {}) as Record<string, KindPlanCounts>).map(([kind, c]) => ({ kind, ...c }));

const ConflictInterface = builder.interfaceRef<Conflict>("ImportConflict").implement({
  description: "What every conflict says. `id` is stable for the same file and data: use it in `resolutions`.",
  fields: (t) => ({
    id: t.exposeID("id"),
    kind: t.exposeString("kind", { description: "the record kind (archive line type)" }),
    line: t.exposeInt("line"),
    sourceId: t.exposeString("sourceId", { description: "the record's id in the file" }),
    existingId: t.exposeString("existingId", { nullable: true, description: "your record it collides with" }),
    suggestedResolution: t.field({ type: ResolutionEnum, resolve: (c) => c.suggestedResolution }),
    allowedResolutions: t.field({ type: [ResolutionEnum], resolve: (c) => c.allowedResolutions }),
    resolution: t.field({ type: ResolutionEnum, description: "what the import will do with the options given", resolve: (c) => c.resolution }),
    message: t.exposeString("message"),
  }),
});

const conflictType = (name: Conflict["type"], description: string) =>
  builder.objectRef<Conflict>(name).implement({
    description,
    interfaces: [ConflictInterface],
    isTypeOf: (c) => (c as Conflict).type === name,
  });

const DuplicateId = conflictType("DuplicateIdConflict", "You already have a record with this id.");
const NaturalKey = conflictType("NaturalKeyConflict", "You already have a record with the same natural key (app/category/persona name, a persona's ontology, a video+persona summary).");
const Foreign = conflictType("ForeignRecordConflict", "The file was exported by another user: the record is created under a new id.");
const MissingReference = builder.objectRef<Conflict>("MissingReferenceConflict").implement({
  description: "A reference that resolves neither inside the file nor among your records.",
  interfaces: [ConflictInterface],
  isTypeOf: (c) => (c as Conflict).type === "MissingReferenceConflict",
  fields: (t) => ({
    field: t.string({ resolve: (c) => c.field ?? "" }),
    referencedKind: t.string({ resolve: (c) => c.referencedKind ?? "" }),
    referencedId: t.string({ resolve: (c) => c.referencedId ?? "" }),
  }),
});

const ConflictUnion = builder.unionType("Conflict", { types: [DuplicateId, NaturalKey, Foreign, MissingReference] });

const Exporter = builder.objectRef<{ userId: string | null; crossUser: boolean }>("ImportExporter").implement({
  fields: (t) => ({
    userId: t.exposeString("userId", { nullable: true, description: "who made the file, as the file says" }),
    crossUser: t.exposeBoolean("crossUser", { description: "made by someone else: every id is regenerated" }),
  }),
});

interface PreviewShape {
  format: string;
  plan: ImportPlan;
}

const ImportPreview = builder.objectRef<PreviewShape>("ImportPreview").implement({
  description: "What `importBackup` with the same file, options and data would do. Nothing is written.",
  fields: (t) => ({
    format: t.field({ type: ArchiveFormatEnum, resolve: (p) => p.format as "ZIP" }),
    exporter: t.field({ type: Exporter, resolve: (p) => ({ userId: p.plan.exporterUserId, crossUser: p.plan.crossUser }) }),
    records: t.int({ resolve: (p) => p.plan.records }),
    counts: t.field({ type: [KindImportCounts], resolve: (p) => toKindImportCounts(p.plan.counts) }),
    conflictCount: t.int({ description: "all conflicts; the connection lists the first 10,000", resolve: (p) => p.plan.conflictTotal }),
    conflicts: t.connection({ type: ConflictUnion, resolve: (p, args) => resolveArrayConnection({ args }, p.plan.conflicts) }),
    conflictGroups: t.field({
      type: [ConflictGroupRef],
      description: "every conflict by type, kind and resolution, the biggest group first: the whole report, in a few lines",
      resolve: (p) => p.plan.conflictGroups,
    }),
    warnings: t.stringList({ resolve: (p) => p.plan.warnings }),
    warningCount: t.int({ resolve: (p) => p.plan.warningTotal }),
    problemCount: t.int({ description: "malformed lines in all (`strict: false` skips them, each with a warning; strict fails with InvalidArchiveError)", resolve: (p) => p.plan.problemCount }),
    problemGroups: t.field({ type: [LineProblemGroupRef], description: "the malformed lines by fault, the biggest first", resolve: (p) => p.plan.problemGroups }),
  }),
});

const IMPORT_ERRORS = [ValidationError, NotFoundError, ForbiddenError, InvalidArchiveError, UnsupportedFormatVersionError, UploadTooLargeError];

const ImportRecordRef = builder.prismaObject("ImportRecord", {
  description: "One import, finished or failed, as the history keeps it.",
  fields: (t) => ({
    id: t.exposeID("id"),
    filename: t.exposeString("filename"),
    sha256: t.exposeString("sha256"),
    byteSize: t.float({ resolve: (r) => Number(r.byteSize) }),
    format: t.field({ type: ArchiveFormatEnum, resolve: (r) => r.format }),
    mode: t.field({ type: ImportModeEnum, resolve: (r) => r.mode }),
    options: t.expose("options", { type: "JSON" }),
    status: t.field({ type: JobStatusEnum, resolve: (r) => r.status }),
    crossUser: t.exposeBoolean("crossUser"),
    exporterUserId: t.exposeString("exporterUserId", { nullable: true }),
    targetUserId: t.exposeID("targetUserId"),
    counts: t.field({ type: [KindImportCounts], resolve: (r) => toKindImportCounts(r.counts) }),
    warnings: t.stringList({ resolve: (r) => (r.warnings as string[] | null) ?? [] }),
    recordCount: t.exposeInt("recordCount", { nullable: true, description: "records the file held; null until the import succeeded" }),
    conflictCount: t.exposeInt("conflictCount", { nullable: true, description: "conflicts found and resolved; null until the import succeeded" }),
    conflictGroups: t.field({
      type: [ConflictGroupRef],
      description: "those conflicts by type, kind and resolution, the biggest group first; empty until the import succeeded",
      resolve: (r) => conflictGroupsOf(r),
    }),
    error: t.exposeString("error", { nullable: true }),
    failure: t.field({
      type: ErrorInterface,
      nullable: true,
      description:
        `the typed error a failed import ended with, as importBackup returned it (an InvalidArchiveError's \`problems\` keeps its first ${KEPT_PROBLEMS}); ` +
        "null for an import that succeeded, was interrupted, or failed on the server's side (then \`error\` alone tells)",
      // graphql-js takes an Error a resolver returns for the field's own failure: wrapped as the errors plugin wraps a result union's
      resolve: (r) => {
        const failure = failureFrom(r);
        return failure && (wrapErrorIfMatches(failure, IMPORT_ERRORS) as StowageError);
      },
    }),
    startedAt: t.expose("startedAt", { type: "DateTime" }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
  }),
});

const ImportBackupSuccess = builder.objectRef<{ recordId: string }>("ImportBackupSuccess").implement({
  fields: (t) => ({
    record: t.prismaField({
      type: "ImportRecord",
      resolve: (query, p, _args, ctx) => ctx.services.db.importRecord.findUniqueOrThrow({ ...query, where: { id: p.recordId } }),
    }),
  }),
});

// ---------- operations ----------

builder.queryField("previewImport", (t) =>
  t.field({
    type: ImportPreview,
    description:
      "The conflict report and counts of importing this archive (a direct `file` or a staged `uploadId`). Nothing is written. " +
      "A preview of a staged upload can be followed with `previewProgress(uploadId)`.",
    authScopes: { authenticated: true },
    errors: { types: IMPORT_ERRORS, directResult: true, union: { name: "PreviewImportResult" } },
    args: { file: t.arg({ type: "Upload", required: false }), uploadId: t.arg.id({ required: false }), options: t.arg({ type: ImportOptionsInput, required: false }) },
    resolve: async (_root, args, ctx) => {
      const options = importOptions(args.options as OptionsArg);
      const target = await importTarget(ctx, args.options?.targetUserId);
      const upload = await resolveUploadArg(ctx, args);
      const uploadId = upload.upload.id;
      const publish = (status: PreviewProgress["status"], recordsDecided: number, recordsTotal: number) =>
        ctx.services.pubsub.publish("previewProgress", uploadId, { uploadId, status, recordsDecided, recordsTotal });
      const progress = throttle(250, (done: number, total: number) => publish("RUNNING", done, total));
      try {
        const { plan, format } = await previewArchive(ctx.services, { ...upload.upload, path: upload.path }, target, options, progress.call);
        progress.flush();
        publish("SUCCEEDED", plan.records, plan.records);
        return { plan, format };
      } catch (err) {
        progress.flush();
        publish("FAILED", 0, 0);
        throw err;
      } finally {
        await upload.release();
      }
    },
  }),
);

builder.mutationField("importBackup", (t) =>
  t.field({
    type: ImportBackupSuccess,
    description:
      "Imports an archive, all or nothing, applying exactly what `previewImport` shows. Follow it with `importProgress(id)` using the staged upload's id.",
    authScopes: { authenticated: true },
    errors: { types: IMPORT_ERRORS, directResult: true, union: { name: "ImportBackupResult" } },
    args: { input: t.arg({ type: ImportBackupInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const options = importOptions(input as OptionsArg);
      const target = await importTarget(ctx, input.targetUserId);
      const upload = await resolveUploadArg(ctx, input);
      const { pubsub } = ctx.services;
      let recordId = "";
      const publish = (status: JobProgress["status"], done: number, total: number) => {
        for (const key of [recordId, upload.upload.id]) if (key) pubsub.publish("importProgress", key, { id: recordId, status, recordsWritten: done, recordsTotal: total });
      };
      const progress = throttle(250, (done: number, total: number) => publish("RUNNING", done, total));
      try {
        const result = await importArchive(
          ctx.services,
          {
            requesterId: ctx.viewer!.id,
            targetUserId: target,
            file: { ...upload.upload, path: upload.path },
            options,
            onStart: (r) => {
              recordId = r.id;
              publish("RUNNING", 0, 0);
            },
            onProgress: progress.call,
          },
        );
        progress.flush();
        const total = result.outcome?.records ?? 0;
        publish(result.error ? "FAILED" : "SUCCEEDED", total, total);
        if (result.error) throw result.error;
        return { recordId: result.record.id };
      } finally {
        await upload.release();
      }
    },
  }),
);

builder.queryField("importHistory", (t) =>
  t.prismaConnection({
    type: "ImportRecord",
    cursor: "id",
    description: "Your imports, newest first, failed ones included.",
    authScopes: { authenticated: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.services.db.importRecord.findMany({ ...query, where: { requestedById: ctx.viewer!.id }, orderBy: [{ startedAt: "desc" }, { id: "desc" }] }),
  }),
);

const ImportProgressEvent = builder.objectRef<JobProgress>("ImportProgress").implement({
  fields: (t) => ({
    id: t.exposeID("id", { description: "the import record" }),
    status: t.field({ type: JobStatusEnum, resolve: (p) => p.status }),
    recordsWritten: t.exposeInt("recordsWritten", {
      description: "records of the archive done so far: written, or skipped as the plan says (a re-import of your own archive skips them all)",
    }),
    recordsTotal: t.exposeInt("recordsTotal", { description: "the archive's records (0 until it has been read through once)" }),
  }),
});

builder.subscriptionField("importProgress", (t) =>
  t.field({
    type: ImportProgressEvent,
    description: "Progress of an import, by its record id or by the staged upload it reads (subscribe before calling importBackup).",
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, { id }, ctx) => {
      const key = String(id);
      const { db, pubsub } = ctx.services;
      const viewerId = ctx.viewer!.id;
      return followProgress(pubsub.subscribe("importProgress", key), async () => {
        const record = await db.importRecord.findFirst({ where: { id: key, requestedById: viewerId } });
        if (record) return { id: record.id, status: record.status, recordsWritten: 0, recordsTotal: 0 };
        // a staged upload the viewer is about to import: events come once importBackup starts
        if (await db.stagedUpload.findFirst({ where: { id: key, userId: viewerId } })) return null;
        throw notFound(`no import or staged upload ${key}`);
      });
    },
    resolve: (event) => event,
  }),
);

const PreviewProgressEvent = builder.objectRef<PreviewProgress>("PreviewProgress").implement({
  fields: (t) => ({
    uploadId: t.exposeID("uploadId"),
    status: t.field({ type: JobStatusEnum, resolve: (p) => p.status }),
    recordsDecided: t.exposeInt("recordsDecided"),
    recordsTotal: t.exposeInt("recordsTotal", { description: "the archive's records to decide" }),
  }),
});

builder.subscriptionField("previewProgress", (t) =>
  t.field({
    type: PreviewProgressEvent,
    description: "Progress of a `previewImport` of one of your staged uploads (subscribe before calling it), until that preview ends.",
    authScopes: { authenticated: true },
    args: { uploadId: t.arg.id({ required: true }) },
    subscribe: (_root, { uploadId }, ctx) => {
      const key = String(uploadId);
      const { db, pubsub } = ctx.services;
      return followProgress(pubsub.subscribe("previewProgress", key), async () => {
        // a preview keeps no state: events come once previewImport starts
        if (await db.stagedUpload.findFirst({ where: { id: key, userId: ctx.viewer!.id } })) return null;
        throw notFound(`no staged upload ${key}`);
      });
    },
    resolve: (event) => event,
  }),
);

export { ImportRecordRef };
