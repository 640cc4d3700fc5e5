// User-facing failures of the engine. The GraphQL layer exposes each class as
// an object type implementing `Error`; REST routes map them to status codes.

export abstract class StowageError extends Error {
  abstract readonly code: string;
}

export class NotFoundError extends StowageError {
  readonly code = "NOT_FOUND";
}

export interface FieldIssue {
  path: string;
  message: string;
}

export class ValidationError extends StowageError {
  readonly code = "VALIDATION_FAILED";
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

export class ForbiddenError extends StowageError {
  readonly code = "FORBIDDEN";
}

export interface LineProblem {
  line: number;
  kind: string | null;
  message: string;
}

export class InvalidArchiveError extends StowageError {
  readonly code = "INVALID_ARCHIVE";
  constructor(
    message: string,
    /** first offending line, when the problem is on a line */
    readonly line: number | null = null,
    readonly problems: LineProblem[] = [],
  ) {
    super(message);
  }
}

export class UnsupportedFormatVersionError extends StowageError {
  readonly code = "UNSUPPORTED_FORMAT_VERSION";
  constructor(
    message: string,
    readonly version: string,
    readonly supportedVersions: string[],
  ) {
    super(message);
  }
}

export class UploadTooLargeError extends StowageError {
  readonly code = "UPLOAD_TOO_LARGE";
  constructor(
    message: string,
    readonly maxBytes: number,
  ) {
    super(message);
  }
}
