import { builder } from "../builder.js";

// World objects keep FOVEA's rich-text descriptions and type assignments as JSON;
// `extra` carries source-specific fields verbatim.

builder.prismaObject("WorldEntity", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    description: t.expose("description", { type: "JSON", nullable: true }),
    typeAssignments: t.expose("typeAssignments", { type: "JSON", nullable: true }),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    extra: t.expose("extra", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.prismaObject("WorldLocation", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    description: t.expose("description", { type: "JSON", nullable: true }),
    locationType: t.exposeString("locationType"),
    coordinates: t.expose("coordinates", { type: "JSON", nullable: true }),
    typeAssignments: t.expose("typeAssignments", { type: "JSON", nullable: true }),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    extra: t.expose("extra", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.prismaObject("WorldEvent", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    description: t.expose("description", { type: "JSON", nullable: true }),
    personaInterpretations: t.expose("personaInterpretations", { type: "JSON", nullable: true }),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    extra: t.expose("extra", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.prismaObject("WorldTime", {
  fields: (t) => ({
    id: t.exposeID("id"),
    type: t.exposeString("type", { description: "`instant` or `interval`" }),
    label: t.exposeString("label", { nullable: true }),
    // kept as the source wrote them: FOVEA times may be partial or relative
    timestamp: t.exposeString("timestamp", { nullable: true }),
    startTime: t.exposeString("startTime", { nullable: true }),
    endTime: t.exposeString("endTime", { nullable: true }),
    extra: t.expose("extra", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.prismaObject("WorldCollection", {
  fields: (t) => ({
    id: t.exposeID("id"),
    memberKind: t.exposeString("memberKind", { description: "`entity`, `event` or `time`: what `members` holds" }),
    collectionType: t.exposeString("collectionType"),
    name: t.exposeString("name"),
    description: t.expose("description", { type: "JSON", nullable: true }),
    members: t.expose("members", { type: "JSON", nullable: true }),
    typeAssignments: t.expose("typeAssignments", { type: "JSON", nullable: true }),
    extra: t.expose("extra", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.prismaObject("WorldRelation", {
  fields: (t) => ({
    id: t.exposeID("id"),
    relationTypeId: t.exposeString("relationTypeId"),
    sourceType: t.exposeString("sourceType"),
    sourceId: t.exposeID("sourceId"),
    targetType: t.exposeString("targetType"),
    targetId: t.exposeID("targetId"),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.prismaObjectFields("User", (t) => ({
  worldEntities: t.prismaConnection({
    type: "WorldEntity",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.worldEntity.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.worldEntity.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  worldLocations: t.prismaConnection({
    type: "WorldLocation",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.worldLocation.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.worldLocation.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  worldEvents: t.prismaConnection({
    type: "WorldEvent",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.worldEvent.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.worldEvent.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  worldTimes: t.prismaConnection({
    type: "WorldTime",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.worldTime.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.worldTime.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  worldCollections: t.prismaConnection({
    type: "WorldCollection",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.worldCollection.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.worldCollection.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  worldRelations: t.prismaConnection({
    type: "WorldRelation",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.worldRelation.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.worldRelation.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
}));
