import type { Db } from "../db/client.js";
import type { Role } from "../generated/sqlite/client.js";
import { NotFoundError, ValidationError } from "../engine/errors.js";
import { bearerToken, newToken, parseToken, secretMatches } from "./tokens.js";
import { z } from "zod";

export interface Viewer {
  id: string;
  email: string;
  role: Role;
}

const emailSchema = z.string().trim().toLowerCase().email();

export async function createUser(db: Db, input: { email: string; role?: Role; name?: string }) {
  const parsed = emailSchema.safeParse(input.email);
  if (!parsed.success) throw new ValidationError(`not an email address: ${input.email}`, [{ path: "email", message: "invalid email" }]);
  const email = parsed.data;
  if (await db.user.findUnique({ where: { email } })) {
    throw new ValidationError(`a user with email ${email} already exists`, [{ path: "email", message: "already taken" }]);
  }
  const t = newToken();
  const user = await db.user.create({
    data: { email, name: input.name, role: input.role ?? "USER", tokens: { create: { prefix: t.prefix, tokenHash: t.hash } } },
  });
  return { user, token: t.token };
}

export async function issueToken(db: Db, email: string, name = "default") {
  const user = await db.user.findUnique({ where: { email: email.toLowerCase() } });
  if (!user) throw new NotFoundError(`no user with email ${email}`);
  const t = newToken();
  await db.apiToken.create({ data: { userId: user.id, name, prefix: t.prefix, tokenHash: t.hash } });
  return { user, token: t.token };
}

/** Revokes every live token of a user, or the one with the given prefix. */
export async function revokeTokens(db: Db, email: string, prefix?: string): Promise<number> {
  const user = await db.user.findUnique({ where: { email: email.toLowerCase() } });
  if (!user) throw new NotFoundError(`no user with email ${email}`);
  const { count } = await db.apiToken.updateMany({
    where: { userId: user.id, revokedAt: null, ...(prefix ? { prefix } : {}) },
    data: { revokedAt: new Date() },
  });
  return count;
}

export async function listUsers(db: Db) {
  const users = await db.user.findMany({
    orderBy: { createdAt: "asc" },
    include: { tokens: { where: { revokedAt: null }, select: { prefix: true } } },
  });
  return users.map((u) => ({ id: u.id, email: u.email, role: u.role, createdAt: u.createdAt, activeTokens: u.tokens.length }));
}

export async function authenticate(db: Db, authorization: string | null | undefined): Promise<Viewer | null> {
  const raw = bearerToken(authorization);
  const parsed = raw ? parseToken(raw) : null;
  if (!parsed) return null;
  const row = await db.apiToken.findUnique({ where: { prefix: parsed.prefix }, include: { user: true } });
  if (!row || row.revokedAt || !secretMatches(parsed.secret, row.tokenHash)) return null;
  return { id: row.user.id, email: row.user.email, role: row.user.role };
}

export const BOOTSTRAP_ADMIN_EMAIL = "admin@stowage.local";

/** On a database with no users, creates an admin and returns its token (once). */
export async function bootstrapAdmin(db: Db): Promise<{ email: string; token: string } | null> {
  if ((await db.user.count()) > 0) return null;
  const { user, token } = await createUser(db, { email: BOOTSTRAP_ADMIN_EMAIL, role: "ADMIN", name: "Administrator" });
  return { email: user.email, token };
}
