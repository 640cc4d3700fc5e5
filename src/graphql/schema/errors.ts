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
  type FieldIssue,
  type LineProblem,
} from "../../engine/errors.js";
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

builder.objectType(InvalidArchiveError, {
  name: "InvalidArchiveError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof InvalidArchiveError,
  fields: (t) => ({
    line: t.exposeInt("line", { nullable: true, description: "the first offending line (1-based), when the problem is on a line" }),
    problems: t.field({ type: [LineProblemRef], resolve: (e) => e.problems }),
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
