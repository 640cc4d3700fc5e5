import { builder } from "../builder.js";

builder.prismaObject("Persona", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    role: t.exposeString("role"),
    informationNeed: t.exposeString("informationNeed"),
    details: t.expose("details", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    ontology: t.relation("ontology", { nullable: true }),
  }),
});

// The type lists hold gloss (rich text) whose shape belongs to FOVEA, so they stay JSON.
builder.prismaObject("Ontology", {
  fields: (t) => ({
    id: t.exposeID("id"),
    personaId: t.exposeID("personaId"),
    entityTypes: t.expose("entityTypes", { type: "JSON", nullable: true }),
    eventTypes: t.expose("eventTypes", { type: "JSON", nullable: true }),
    roleTypes: t.expose("roleTypes", { type: "JSON", nullable: true }),
    relationTypes: t.expose("relationTypes", { type: "JSON", nullable: true }),
    relations: t.expose("relations", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    persona: t.relation("persona"),
  }),
});

builder.prismaObjectFields("User", (t) => ({
  personas: t.prismaConnection({
    type: "Persona",
    cursor: "id",
    totalCount: (user, _args, ctx) => ctx.services.db.persona.count({ where: { ownerId: user.id } }),
    resolve: (query, user, _args, ctx) =>
      ctx.services.db.persona.findMany({ ...query, where: { ownerId: user.id }, orderBy: { id: "asc" } }),
  }),
}));
