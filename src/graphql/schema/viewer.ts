import { Role } from "../../generated/sqlite/enums.js";
import { builder } from "../builder.js";

export const RoleEnum = builder.enumType(Role, { name: "Role" });

builder.prismaObject("User", {
  description: "An account. Its records are reachable only through `viewer`.",
  fields: (t) => ({
    id: t.exposeID("id"),
    email: t.exposeString("email"),
    name: t.exposeString("name", { nullable: true }),
    role: t.expose("role", { type: RoleEnum }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.queryField("viewer", (t) =>
  t.prismaField({
    type: "User",
    description: "The user the bearer token belongs to.",
    authScopes: { authenticated: true },
    resolve: (query, _root, _args, ctx) => ctx.services.db.user.findUniqueOrThrow({ ...query, where: { id: ctx.viewer!.id } }),
  }),
);
