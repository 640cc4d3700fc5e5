// GraphQL subscriptions as a client follows them: server-sent events over HTTP.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

/**
 * A subscription over server-sent events, started: its first bytes are read,
 * so the server has registered it before whatever it follows is called.
 * `rest()` reads to the end of the stream (the subscription's last event).
 */
export async function subscribe<R, V>(url: string, token: string, doc: TypedDocumentNode<R, V>, variables: V) {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: print(doc), variables }),
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  return {
    contentType: res.headers.get("content-type"),
    /** every event's data until the stream ends, and the errors it carried */
    async rest(): Promise<{ events: R[]; errors: { message: string }[] }> {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value);
      const payloads = text
        .split("\n")
        .filter((l) => l.startsWith("data: ") && l.length > 6)
        .map((l) => JSON.parse(l.slice(6)) as { data?: R; errors?: { message: string }[] });
      return { events: payloads.flatMap((p) => (p.data ? [p.data] : [])), errors: payloads.flatMap((p) => p.errors ?? []) };
    },
  };
}
