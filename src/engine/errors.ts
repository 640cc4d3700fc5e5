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
  /** what it has in common with lines of the same fault, when its message names this line's own (a JSON parser's token, an id) */
  group?: string;
}

/** The lines of one fault: records of a kind, one message. */
export interface LineProblemGroup {
  kind: string | null;
  message: string;
  /** every line of the file with it, past the listed ones too */
  count: number;
  /** its first lines, in file order */
  lines: number[];
}

/** lines a group lists */
export const GROUP_LINES = 20;
/** groups told apart; the faults of any more count in the last one */
export const MAX_GROUPS = 50;
export const OTHER_PROBLEMS = "other problems";
// never a kind + message key: no message starts with a NUL
const OTHER_KEY = "\u0000\u0000other";

/** Malformed lines, grouped by fault as they come (every one counted, however many). */
export class ProblemGroups {
  private byKey = new Map<string, LineProblemGroup>();
  total = 0;

  add(p: LineProblem): void {
    this.total++;
    const key = `${p.kind ?? ""}\u0000${p.group ?? p.message}`;
    let g = this.byKey.get(key);
    if (!g && this.byKey.size >= MAX_GROUPS - 1) {
      g = this.byKey.get(OTHER_KEY);
      if (!g) this.byKey.set(OTHER_KEY, (g = { kind: null, message: OTHER_PROBLEMS, count: 0, lines: [] }));
    }
    if (!g) this.byKey.set(key, (g = { kind: p.kind, message: p.group ?? p.message, count: 0, lines: [] }));
    g.count++;
    if (g.lines.length < GROUP_LINES) g.lines.push(p.line);
  }

  /** biggest first, the faults past MAX_GROUPS last; lines in file order */
  list(): LineProblemGroup[] {
    const other = this.byKey.get(OTHER_KEY);
    const named = [...this.byKey.values()].filter((g) => g !== other).sort((a, b) => b.count - a.count || Math.min(...a.lines) - Math.min(...b.lines));
    return [...named, ...(other ? [other] : [])].map((g) => ({ ...g, lines: [...g.lines].sort((a, b) => a - b) }));
  }
}

export class InvalidArchiveError extends StowageError {
  readonly code = "INVALID_ARCHIVE";
  /** malformed lines in all: the file's every one when it was read through, however many `problems` lists */
  readonly problemCount: number;
  readonly problemGroups: LineProblemGroup[];

  constructor(
    message: string,
    /** first offending line, when the problem is on a line */
    readonly line: number | null = null,
    readonly problems: LineProblem[] = [],
    groups?: { total: number; groups: LineProblemGroup[] },
  ) {
    super(message);
    if (groups) {
      this.problemCount = groups.total;
      this.problemGroups = groups.groups;
    } else {
      const g = new ProblemGroups();
      for (const p of problems) g.add(p);
      this.problemCount = g.total;
      this.problemGroups = g.list();
    }
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
  INVALID_ARCHIVE: (w) =>
    new InvalidArchiveError(w.message, w.fields.line as number | null, w.fields.problems as LineProblem[], {
      total: w.fields.problemCount as number,
      groups: w.fields.problemGroups as LineProblemGroup[],
    }),
  UNSUPPORTED_FORMAT_VERSION: (w) => new UnsupportedFormatVersionError(w.message, w.fields.version as string, w.fields.supportedVersions as string[]),
  UPLOAD_TOO_LARGE: (w) => new UploadTooLargeError(w.message, w.fields.maxBytes as number),
};

/** The error `toWire` was made from, as its own class again; an unknown code comes back as a plain Error. */
export function fromWire(w: WireError): Error {
  const revive = REVIVERS[w.code];
  return revive ? revive(w) : new Error(w.message);
}
