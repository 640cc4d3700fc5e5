import { GraphQLError, Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Context } from "../graphql/context.js";

function onlyIntrospection(doc: DocumentNode, operationName: string | null | undefined): boolean {
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
  if (!op) return false;
  const fragments = new Map(doc.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])));
  const seen = new Set<string>();
  const check = (set: SelectionSetNode): boolean =>
    set.selections.every((s) => {
      if (s.kind === Kind.FIELD) return s.name.value.startsWith("__");
      if (s.kind === Kind.INLINE_FRAGMENT) return check(s.selectionSet);
      if (seen.has(s.name.value)) return true;
      seen.add(s.name.value);
      const frag = fragments.get(s.name.value);
      return frag ? check(frag) : false;
    });
  return check(op.selectionSet);
}

export function unauthenticated(): GraphQLError {
  return new GraphQLError("Authentication required: send `Authorization: Bearer <token>` (create one with `stowage users create`).", {
    extensions: { code: "UNAUTHENTICATED", http: { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="stowage"' } } },
  });
}

/** Every operation but pure introspection needs a valid token. */
export function useRequireViewer(): Plugin<Context> {
  const refused = (args: { contextValue: Context; document: DocumentNode; operationName?: string | null }) =>
    !args.contextValue.viewer && !onlyIntrospection(args.document, args.operationName);
  return {
    onExecute: ({ args, setResultAndStopExecution }) => {
      if (refused(args as never)) setResultAndStopExecution({ errors: [unauthenticated()] });
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      if (refused(args as never)) setResultAndStopExecution({ errors: [unauthenticated()] });
    },
  };
}
