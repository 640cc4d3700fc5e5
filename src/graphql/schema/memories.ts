import { MemoryState } from "../../generated/sqlite/enums.js";
import { builder } from "../builder.js";

export const MemoryStateEnum = builder.enumType(MemoryState, { name: "MemoryState" });

builder.prismaObject("App", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    description: t.exposeString("description", { nullable: true }),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    isActive: t.exposeBoolean("isActive"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const CategoryRef = builder.prismaObject("Category", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    description: t.exposeString("description", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

// Select mode, so the embedding bytes are read only when `hasEmbedding` is asked for.
builder.prismaObject("Memory", {
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID("id"),
    appId: t.exposeID("appId"),
    content: t.exposeString("content"),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    state: t.expose("state", { type: MemoryStateEnum }),
    hasEmbedding: t.boolean({
      select: { embedding: true },
      resolve: (m) => m.embedding !== null,
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    archivedAt: t.expose("archivedAt", { type: "DateTime", nullable: true }),
    deletedAt: t.expose("deletedAt", { type: "DateTime", nullable: true }),
    app: t.relation("app"),
    // Clients want categories, not the link rows between them.
    categories: t.field({
      type: [CategoryRef],
      select: (_args, _ctx, nestedSelection) => ({
        categories: {
          select: { category: nestedSelection(true) },
          orderBy: { category: { name: "asc" } },
        },
      }),
      resolve: (m) => m.categories.map((link) => link.category),
    }),
    statusHistory: t.relation("statuses", {
      query: { orderBy: [{ changedAt: "asc" }, { id: "asc" }] },
    }),
  }),
});

builder.prismaObject("MemoryStatus", {
  fields: (t) => ({
    id: t.exposeID("id"),
    memoryId: t.exposeID("memoryId"),
    changedById: t.exposeID("changedById", { nullable: true }),
    oldState: t.expose("oldState", { type: MemoryStateEnum }),
    newState: t.expose("newState", { type: MemoryStateEnum }),
    changedAt: t.expose("changedAt", { type: "DateTime" }),
  }),
});

builder.prismaObject("AccessControl", {
  fields: (t) => ({
    id: t.exposeID("id"),
    subjectType: t.exposeString("subjectType"),
    subjectId: t.exposeString("subjectId", { nullable: true }),
    objectType: t.exposeString("objectType"),
    objectId: t.exposeString("objectId", { nullable: true }),
    effect: t.exposeString("effect"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

// Top-level queries scoped by owner rather than relatedConnection: nested cursor
// pagination is broken with driver adapters in Prisma 7 (see TOOLCHAIN.md).
builder.prismaObjectFields("User", (t) => ({
  apps: t.prismaConnection({
    type: "App",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.app.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.app.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  categories: t.prismaConnection({
    type: "Category",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.category.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.category.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
  memories: t.prismaConnection({
    type: "Memory",
    cursor: "id",
    args: {
      state: t.arg({ type: MemoryStateEnum, description: "only memories in this state" }),
      appId: t.arg.id({ description: "only memories of this app" }),
    },
    totalCount: (user, args, ctx) =>
      ctx.services.db.memory.count({
        where: { ownerId: user.id, state: args.state ?? undefined, appId: args.appId ?? undefined },
      }),
    resolve: (query, user, args, ctx) =>
      ctx.services.db.memory.findMany({
        ...query,
        where: { ownerId: user.id, state: args.state ?? undefined, appId: args.appId ?? undefined },
        orderBy: { id: "asc" },
      }),
  }),
  accessControls: t.prismaConnection({
    type: "AccessControl",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.accessControl.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.accessControl.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
}));
