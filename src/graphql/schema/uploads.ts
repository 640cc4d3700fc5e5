import { GraphQLError } from "graphql";
import type { FileUpload } from "graphql-upload-minimal";
import { InvalidArchiveError, UploadTooLargeError } from "../../engine/errors.js";
import { listStagedUploads, resolveUpload, stageUpload, type ResolvedUpload, type UploadSource } from "../../engine/uploads.js";
import { ArchiveFormat } from "../../generated/sqlite/enums.js";
import { setResponseStatus } from "../../http/http-status-plugin.js";
import { builder } from "../builder.js";
import type { Context } from "../context.js";

export const ArchiveFormatEnum = builder.enumType(ArchiveFormat, {
  name: "ArchiveFormat",
  description: "The kind of archive an upload holds, told from its bytes.",
});

export const StagedUploadRef = builder.prismaObject("StagedUpload", {
  description:
    "An archive uploaded once and kept until `expiresAt`, to be previewed and imported (by `uploadId`) as often as needed. Only its uploader sees it.",
  fields: (t) => ({
    id: t.exposeID("id"),
    filename: t.exposeString("filename", { description: "the name the client sent (its last path segment)" }),
    byteSize: t.float({ resolve: (u) => Number(u.byteSize) }),
    sha256: t.exposeString("sha256", { description: "lowercase hex SHA-256 of the bytes received" }),
    format: t.field({
      type: ArchiveFormatEnum,
      description: "ZIP (native), OPENMEMORY (OpenMemory's ZIP) or JSONL (plain or gzip; native or FOVEA lines)",
      resolve: (u) => u.format,
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    expiresAt: t.expose("expiresAt", { type: "DateTime" }),
  }),
});

/**
 * The byte stream of an `Upload` argument. graphql-upload-minimal reports the
 * size limit hit before the stream was opened as an HttpError 413 (from the
 * promise or from createReadStream): that becomes UploadTooLargeError; its other
 * transport errors keep their HTTP status.
 */
export async function uploadSource(ctx: Context, file: Promise<FileUpload>): Promise<UploadSource> {
  const max = ctx.services.config.maxUploadBytes;
  try {
    const upload = await file;
    return { filename: upload.filename, stream: upload.createReadStream() };
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    if (status === 413) throw new UploadTooLargeError(`the upload exceeds the limit of ${max} bytes`, max);
    if (typeof status === "number") {
      throw new GraphQLError((err as Error).message, { extensions: { code: "BAD_MULTIPART_REQUEST", http: { status } } });
    }
    throw err;
  }
}

/** Runs `work`; an UploadTooLargeError from it (returned to the client as a typed error) also makes the response HTTP 413. */
export async function answering413<T>(ctx: Context, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UploadTooLargeError) setResponseStatus(ctx, 413);
    throw err;
  }
}

/**
 * For previewImport / importBackup: the archive named by exactly one of
 * `file` and `uploadId`, as the engine's `resolveUpload` returns it (call
 * `release()` in a `finally`). Too large → UploadTooLargeError and HTTP 413.
 */
export function resolveUploadArg(
  ctx: Context,
  args: { file?: Promise<FileUpload> | null; uploadId?: string | number | null },
): Promise<ResolvedUpload> {
  return answering413(ctx, async () =>
    resolveUpload(ctx.services, ctx.viewer!.id, {
      file: args.file ? await uploadSource(ctx, args.file) : null,
      uploadId: args.uploadId == null ? null : String(args.uploadId),
    }),
  );
}

builder.mutationField("stageUpload", (t) =>
  t.field({
    type: StagedUploadRef,
    description:
      "Stores an archive for later `previewImport` / `importBackup` by `uploadId` (multipart request; the file is streamed to storage). " +
      "Over the size limit the answer is HTTP 413 with an `UploadTooLargeError`.",
    authScopes: { authenticated: true },
    errors: { types: [UploadTooLargeError, InvalidArchiveError], directResult: true, union: { name: "StageUploadResult" } },
    args: { file: t.arg({ type: "Upload", required: true }) },
    resolve: (_root, { file }, ctx) =>
      answering413(ctx, async () => stageUpload(ctx.services, ctx.viewer!.id, await uploadSource(ctx, file))),
  }),
);

builder.queryField("stagedUploads", (t) =>
  t.field({
    type: [StagedUploadRef],
    description: "The viewer's staged uploads that have not expired, newest first.",
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => listStagedUploads(ctx.services.db, ctx.viewer!.id),
  }),
);
