import type { GraphQLError } from "graphql";
import { createGraphQLError } from "graphql-yoga";
import {
  ForbiddenError,
  InvalidArchiveError,
  NotFoundError,
  StowageError,
  UnsupportedFormatVersionError,
  UploadTooLargeError,
  ValidationError,
  GROUP_LINES,
  MAX_GROUPS,
  OTHER_PROBLEMS,
  type FieldIssue,
  type LineProblem,
  type LineProblemGroup,
} from "../../engine/errors.js";
import { MAX_PROBLEMS } from "../../engine/import/plan.js";
import { builder } from "../builder.js";

export const ErrorInterface = builder.interfaceRef<StowageError>("Error").implement({
  description: "A failure the client can act on; each result union lists the ones it may return.",
  fields: (t) => ({
    message: t.exposeString("message"),
    code: t.exposeString("code"),
  }),
});

builder.objectType(NotFoundError, {
  name: "NotFoundError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof NotFoundError,
});

const FieldIssueRef = builder.objectRef<FieldIssue>("FieldIssue").implement({
  fields: (t) => ({
    path: t.exposeString("path", { description: "dotted path of the input field, e.g. `input.to`" }),
    message: t.exposeString("message"),
  }),
});

builder.objectType(ValidationError, {
  name: "ValidationError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof ValidationError,
  fields: (t) => ({
    issues: t.field({ type: [FieldIssueRef], resolve: (e) => e.issues }),
  }),
});

builder.objectType(ForbiddenError, {
  name: "ForbiddenError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof ForbiddenError,
});

const LineProblemRef = builder.objectRef<LineProblem>("LineProblem").implement({
  fields: (t) => ({
    line: t.exposeInt("line"),
    kind: t.exposeString("kind", { nullable: true }),
    message: t.exposeString("message"),
  }),
});

export const LineProblemGroupRef = builder.objectRef<LineProblemGroup>("LineProblemGroup").implement({
  description: "The malformed lines of one fault: records of one kind, one message.",
  fields: (t) => ({
    kind: t.exposeString("kind", { nullable: true }),
    message: t.exposeString("message"),
    count: t.exposeInt("count", { description: "lines of the file with it, all of them" }),
    lines: t.exposeIntList("lines", { description: `its first ${GROUP_LINES} lines, in file order` }),
  }),
});

builder.objectType(InvalidArchiveError, {
  name: "InvalidArchiveError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof InvalidArchiveError,
  fields: (t) => ({
    line: t.exposeInt("line", { nullable: true, description: "the first offending line (1-based), when the problem is on a line" }),
    problems: t.field({ type: [LineProblemRef], description: `the malformed lines, in file order, up to ${MAX_PROBLEMS}`, resolve: (e) => e.problems }),
    problemCount: t.exposeInt("problemCount", { description: "malformed lines in all, however many `problems` lists (0 when the file is refused as a whole)" }),
    problemGroups: t.field({
      type: [LineProblemGroupRef],
      description: `the malformed lines by fault, the biggest first (up to ${MAX_GROUPS}: any further faults are counted in a last "${OTHER_PROBLEMS}")`,
      resolve: (e) => e.problemGroups,
    }),
  }),
});

builder.objectType(UnsupportedFormatVersionError, {
  name: "UnsupportedFormatVersionError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof UnsupportedFormatVersionError,
  fields: (t) => ({
    version: t.exposeString("version"),
    supportedVersions: t.exposeStringList("supportedVersions"),
  }),
});

builder.objectType(UploadTooLargeError, {
  name: "UploadTooLargeError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof UploadTooLargeError,
  fields: (t) => ({
    maxBytes: t.float({ resolve: (e) => e.maxBytes }),
  }),
});

/** Subscriptions have no result union: their typed failure travels as a GraphQL error with a code. */
export function notFound(message: string): GraphQLError {
  const e = new NotFoundError(message);
  return createGraphQLError(message, { extensions: { code: e.code } });
}
