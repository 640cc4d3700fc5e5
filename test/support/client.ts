// The GraphQL documents and round trips the import tests share: stage, preview,
// import, history, and an export fetched through its download link.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { graphql } from "../gql/index.js";
import type { ExportFormat } from "../gql/graphql.js";
import { until } from "./poll.js";
import type { TestServer } from "./server.js";

export const StageDoc = graphql(`
  mutation SharedStageUpload($file: Upload!) {
    stageUpload(file: $file) {
      __typename
      ... on StagedUpload {
        id
        format
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

graphql(`
  fragment SharedProblemGroup on LineProblemGroup {
    kind
    message
    count
    lines
  }
`);

graphql(`
  fragment SharedConflictGroup on ConflictGroup {
    type
    kind
    resolution
    count
    lines
  }
`);

graphql(`
  fragment SharedInvalidArchive on InvalidArchiveError {
    line
    problems {
      line
      kind
      message
    }
    problemCount
    problemGroups {
      ...SharedProblemGroup
    }
  }
`);

export const PreviewDoc = graphql(`
  query SharedPreviewImport($uploadId: ID, $file: Upload, $options: ImportOptions) {
    previewImport(uploadId: $uploadId, file: $file, options: $options) {
      __typename
      ... on ImportPreview {
        format
        records
        exporter {
          userId
          crossUser
        }
        counts {
          kind
          create
          update
          skip
          remap
        }
        conflictCount
        conflictGroups {
          ...SharedConflictGroup
        }
        warnings
        problemCount
        problemGroups {
          ...SharedProblemGroup
        }
        conflicts(first: 1000) {
          edges {
            node {
              __typename
              ... on ImportConflict {
                id
                kind
                line
                sourceId
                existingId
                suggestedResolution
                allowedResolutions
                resolution
                message
              }
              ... on MissingReferenceConflict {
                field
                referencedKind
                referencedId
              }
            }
          }
        }
      }
      ... on Error {
        message
        code
      }
      ... on InvalidArchiveError {
        ...SharedInvalidArchive
      }
    }
  }
`);

export const ImportDoc = graphql(`
  mutation SharedImportBackup($input: ImportBackupInput!) {
    importBackup(input: $input) {
      __typename
      ... on ImportBackupSuccess {
        record {
          id
          status
          format
          crossUser
          exporterUserId
          warnings
          recordCount
          conflictCount
          conflictGroups {
            ...SharedConflictGroup
          }
          counts {
            kind
            create
            update
            skip
            remap
          }
        }
      }
      ... on Error {
        message
        code
      }
      ... on InvalidArchiveError {
        ...SharedInvalidArchive
      }
    }
  }
`);

export const HistoryDoc = graphql(`
  query SharedImportHistory {
    importHistory(first: 50) {
      edges {
        node {
          id
          filename
          status
          error
          failure {
            __typename
            code
            message
            ... on InvalidArchiveError {
              ...SharedInvalidArchive
            }
            ... on UnsupportedFormatVersionError {
              version
            }
          }
          format
          recordCount
          conflictCount
          counts {
            kind
            create
          }
        }
      }
    }
  }
`);

const StartExportDoc = graphql(`
  mutation SharedStartExport($format: ExportFormat!) {
    exportBackup(input: { format: $format }) {
      __typename
      ... on ExportBackupSuccess {
        job {
          id
        }
      }
    }
  }
`);

const ExportStateDoc = graphql(`
  query SharedExportState($id: ID!) {
    exportJob(id: $id) {
      status
      error
      downloadUrl
    }
  }
`);

/** Exports everything of the token's user and downloads the archive. */
export async function exportArchive(s: TestServer, token: string, format: ExportFormat): Promise<Buffer> {
  const started = (await s.gql(StartExportDoc, { format }, token)).data!.exportBackup;
  if (started.__typename !== "ExportBackupSuccess") throw new Error(`export refused: ${started.__typename}`);
  const job = await until(async () => {
    const j = (await s.gql(ExportStateDoc, { id: started.job.id }, token)).data?.exportJob;
    return j && (j.status === "SUCCEEDED" || j.status === "FAILED") ? j : null;
  }, "export");
  if (job.status !== "SUCCEEDED") throw new Error(`export failed: ${job.error}`);
  return Buffer.from(await (await fetch(job.downloadUrl!)).arrayBuffer());
}

export type KindCounts = { kind: string; create: number; update: number; skip: number; remap: number }[];

export const countsOf = (counts: KindCounts) =>
  Object.fromEntries(counts.map((c) => [c.kind, { create: c.create, update: c.update, skip: c.skip, remap: c.remap }]));

export const jsonl = (lines: unknown[]) => Buffer.from(lines.map((l) => JSON.stringify(l)).join("\n") + "\n");

/** lines as written: objects as JSON, strings as they are (malformed ones) */
export const jsonlAsWritten = (lines: unknown[]) => Buffer.from(lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");

export type { TypedDocumentNode };
