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

/** A StowageError as it crosses a process boundary (structured clone keeps no class). */
export interface WireError {
  code: string;
  message: string;
  fields: Record<string, unknown>;
}

export function toWire(err: StowageError): WireError {
  const { code, message } = err;
  return { code, message, fields: { ...err } };
}

const REVIVERS: Record<string, (w: WireError) => StowageError> = {
  NOT_FOUND: (w) => new NotFoundError(w.message),
  VALIDATION_FAILED: (w) => new ValidationError(w.message, w.fields.issues as FieldIssue[]),
  FORBIDDEN: (w) => new ForbiddenError(w.message),
  INVALID_ARCHIVE: (w) => new InvalidArchiveError(w.message, w.fields.line as number | null, w.fields.problems as LineProblem[]),
  UNSUPPORTED_FORMAT_VERSION: (w) => new UnsupportedFormatVersionError(w.message, w.fields.version as string, w.fields.supportedVersions as string[]),
  UPLOAD_TOO_LARGE: (w) => new UploadTooLargeError(w.message, w.fields.maxBytes as number),
};

/** The error `toWire` was made from, as its own class again; an unknown code comes back as a plain Error. */
export function fromWire(w: WireError): Error {
  const revive = REVIVERS[w.code];
  return revive ? revive(w) : new Error(w.message);
}
