// Multipart bodies are "simple" requests a browser sends cross-site without a
// preflight; a custom header proves the request was preflighted. Apollo's
// upload link sends one of the Apollo names, yoga's clients the first.
export const CSRF_HEADERS = ["x-graphql-yoga-csrf", "graphql-require-preflight", "apollo-require-preflight", "x-apollo-operation-name"];

export function hasCsrfHeader(headers: Record<string, string | string[] | undefined>): boolean {
  return CSRF_HEADERS.some((h) => headers[h] !== undefined);
}
