import { builder } from "../builder.js";

builder.prismaObject("Annotation", {
  fields: (t) => ({
    id: t.exposeID("id"),
    videoId: t.exposeID("videoId"),
    personaId: t.exposeID("personaId", { nullable: true }),
    annotationType: t.exposeString("annotationType", { description: "`type` or `object`" }),
    typeCategory: t.exposeString("typeCategory", { nullable: true }),
    typeId: t.exposeString("typeId", { nullable: true }),
    linkType: t.exposeString("linkType", {
      nullable: true,
      description: "`entity`, `event`, `time` or `location`: which linked object is set",
    }),
    linkedEntityId: t.exposeID("linkedEntityId", { nullable: true }),
    linkedEventId: t.exposeID("linkedEventId", { nullable: true }),
    linkedTimeId: t.exposeID("linkedTimeId", { nullable: true }),
    linkedLocationId: t.exposeID("linkedLocationId", { nullable: true }),
    linkedEntity: t.relation("linkedEntity", { nullable: true }),
    linkedEvent: t.relation("linkedEvent", { nullable: true }),
    linkedTime: t.relation("linkedTime", { nullable: true }),
    linkedLocation: t.relation("linkedLocation", { nullable: true }),
    // keyframes and interpolation segments in FOVEA's shape
    boundingBoxSequence: t.expose("boundingBoxSequence", { type: "JSON", nullable: true }),
    totalFrames: t.exposeInt("totalFrames"),
    keyframeCount: t.exposeInt("keyframeCount"),
    interpolatedFrameCount: t.exposeInt("interpolatedFrameCount"),
    confidence: t.exposeFloat("confidence", { nullable: true }),
    notes: t.exposeString("notes", { nullable: true }),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    video: t.relation("video"),
    persona: t.relation("persona", { nullable: true }),
  }),
});

builder.prismaObjectFields("User", (t) => ({
  annotations: t.prismaConnection({
    type: "Annotation",
    cursor: "id",
    args: { videoId: t.arg.id({ description: "only annotations of this video" }) },
    totalCount: (user, args, ctx) =>
      ctx.services.db.annotation.count({ where: { ownerId: user.id, videoId: args.videoId ?? undefined } }),
    resolve: (query, user, args, ctx) =>
      ctx.services.db.annotation.findMany({
        ...query,
        where: { ownerId: user.id, videoId: args.videoId ?? undefined },
        orderBy: { id: "asc" },
      }),
  }),
}));
