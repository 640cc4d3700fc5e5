// An HTTP status chosen by a resolver. Some failures are answered with a typed
// error in `data` (a union member, so `errors` stays empty) and yet have an
// HTTP meaning the transport must carry: an upload over the limit is 413 +
// `UploadTooLargeError`. A resolver calls `setResponseStatus(ctx, 413)`; this
// plugin puts the status into the result's `extensions.http`, which yoga's
// result processor turns into the response status and strips from the body
// (graphql-yoga 5: getResponseInitByRespectingErrors / jsonStringifyResultWithoutInternals).

import type { IncomingMessage } from "node:http";
import { isAsyncIterable, type Plugin } from "graphql-yoga";

const statuses = new WeakMap<object, number>();

/** Asks for `status` on the response of the operation running with this context (the highest one asked wins). */
export function setResponseStatus(context: object, status: number): void {
  statuses.set(context, Math.max(status, statuses.get(context) ?? 0));
}

export function useResponseStatus(): Plugin {
  return {
    onExecute: ({ args }) => ({
      onExecuteDone: ({ result, setResult }) => {
        const status = statuses.get(args.contextValue);
        if (!status || isAsyncIterable(result)) return;
        const http = (result.extensions?.http ?? {}) as { status?: number };
        setResult({ ...result, extensions: { ...result.extensions, http: { ...http, status: Math.max(status, http.status ?? 0) } } });
      },
    }),
  };
}

/**
 * Reads to the end a multipart body the operation left unread, so the
 * connection stays usable for the client's next request. graphql-upload-minimal
 * hands yoga the operation as soon as it has the `map` field; when yoga answers
 * without the file being read (refused before execution: 401, a validation
 * error; or a resolver that never opened the file), busboy stops at the unread
 * file and the rest of the body would sit in the socket, breaking keep-alive.
 * What is drained is discarded: nothing is stored. (Node itself dumps an unread
 * request body the same way when nobody has started reading it.)
 */
export function useDrainUnreadUploads(): Plugin<Record<string, never>, { req?: IncomingMessage & { body?: unknown } }> {
  return {
    onResponse: ({ serverContext }) => {
      const req = serverContext.req;
      if (!req || req.body === undefined || req.complete || req.destroyed) return;
      req.unpipe();
      req.resume();
    },
  };
}
