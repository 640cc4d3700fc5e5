import { builder } from "../builder.js";

builder.prismaObject("Video", {
  description: "A video's metadata; the media itself is not stored here.",
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.exposeString("title"),
    url: t.exposeString("url", { nullable: true }),
    durationMs: t.exposeInt("durationMs", { nullable: true }),
    fps: t.exposeFloat("fps", { nullable: true }),
    width: t.exposeInt("width", { nullable: true }),
    height: t.exposeInt("height", { nullable: true }),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

interface TreeNode {
  id: string;
  parentClaimId: string | null;
}

/** Pre-order walk of the claim forest: every parent comes before its children, siblings keep their order. */
export function parentFirst<T extends TreeNode>(claims: T[]): T[] {
  const ids = new Set(claims.map((c) => c.id));
  const children = new Map<string | null, T[]>();
  for (const c of claims) {
    // a claim whose parent is not in the list is shown as a root rather than dropped
    const key = c.parentClaimId !== null && ids.has(c.parentClaimId) ? c.parentClaimId : null;
    const list = children.get(key);
    if (list) list.push(c);
    else children.set(key, [c]);
  }
  const out: T[] = [];
  const seen = new Set<string>();
  const stack = [...(children.get(null) ?? [])].reverse();
  while (stack.length) {
    const c = stack.pop()!;
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    out.push(c);
    stack.push(...[...(children.get(c.id) ?? [])].reverse());
  }
  // a parent cycle has no root: keep its claims visible, in their original order
  for (const c of claims) if (!seen.has(c.id)) out.push(c);
  return out;
}

const siblingOrder = [{ createdAt: "asc" as const }, { id: "asc" as const }];

const ClaimRef = builder.prismaObject("Claim", {
  fields: (t) => ({
    id: t.exposeID("id"),
    summaryId: t.exposeID("summaryId"),
    parentClaimId: t.exposeID("parentClaimId", { nullable: true }),
    text: t.exposeString("text"),
    gloss: t.expose("gloss", { type: "JSON", nullable: true }),
    confidence: t.exposeFloat("confidence", { nullable: true }),
    extra: t.expose("extra", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    parent: t.relation("parent", { nullable: true }),
    children: t.relation("children", { query: { orderBy: siblingOrder } }),
  }),
});

builder.prismaObject("VideoSummary", {
  fields: (t) => ({
    id: t.exposeID("id"),
    videoId: t.exposeID("videoId"),
    personaId: t.exposeID("personaId"),
    summary: t.expose("summary", { type: "JSON", nullable: true }),
    extra: t.expose("extra", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    video: t.relation("video"),
    persona: t.relation("persona"),
    // A plain list, loaded with the summaries: a summary's claims are few, and
    // nested cursor pagination is broken with driver adapters in Prisma 7.
    claims: t.field({
      type: [ClaimRef],
      description: "Every claim of the summary, parents before their children (the order of an archive).",
      select: (_args, _ctx, nestedSelection) => ({
        claims: nestedSelection({ orderBy: siblingOrder }),
      }),
      resolve: (s) => parentFirst(s.claims),
    }),
  }),
});

builder.prismaObject("ClaimRelation", {
  fields: (t) => ({
    id: t.exposeID("id"),
    sourceClaimId: t.exposeID("sourceClaimId"),
    targetClaimId: t.exposeID("targetClaimId"),
    relationTypeId: t.exposeString("relationTypeId"),
    extra: t.expose("extra", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    source: t.relation("source"),
    target: t.relation("target"),
  }),
});

builder.prismaObjectFields("User", (t) => ({
  videos: t.prismaConnection({
    type: "Video",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.video.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.video.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  videoSummaries: t.prismaConnection({
    type: "VideoSummary",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.videoSummary.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.videoSummary.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  claims: t.prismaConnection({
    type: "Claim",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.claim.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.claim.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  claimRelations: t.prismaConnection({
    type: "ClaimRelation",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.claimRelation.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.claimRelation.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
}));
