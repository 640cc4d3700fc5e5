import { Command } from "commander";
import { createUser, issueToken, listUsers, revokeTokens } from "../auth/users.js";
import { openRuntime } from "../runtime.js";
import { textTable } from "./table.js";

async function withDb<T>(fn: (db: Awaited<ReturnType<typeof openRuntime>>["db"]) => Promise<T>): Promise<T> {
  const rt = await openRuntime();
  try {
    return await fn(rt.db);
  } finally {
    await rt.close();
  }
}

export function usersCommand(): Command {
  const users = new Command("users").description("manage accounts and their API tokens");

  users
    .command("create")
    .description("create a user and print its API token (shown once)")
    .requiredOption("--email <email>", "the user's email")
    .option("--name <name>", "display name")
    .option("--admin", "give the ADMIN role", false)
    .option("--json", 'print one line {"id","email","role","token"}', false)
    .action((o: { email: string; name?: string; admin: boolean; json: boolean }) =>
      withDb(async (db) => {
        const { user, token } = await createUser(db, { email: o.email, name: o.name, role: o.admin ? "ADMIN" : "USER" });
        if (o.json) console.log(JSON.stringify({ id: user.id, email: user.email, role: user.role, token }));
        else console.log(`created ${user.role} ${user.email} (${user.id})\ntoken (shown once): ${token}`);
      }),
    );

  users
    .command("token")
    .description("issue another API token for an existing user")
    .requiredOption("--email <email>")
    .option("--name <name>", "label for the token", "cli")
    .option("--json", "print JSON", false)
    .action((o: { email: string; name: string; json: boolean }) =>
      withDb(async (db) => {
        const { user, token } = await issueToken(db, o.email, o.name);
        console.log(o.json ? JSON.stringify({ id: user.id, email: user.email, role: user.role, token }) : token);
      }),
    );

  users
    .command("list")
    .description("list users")
    .option("--json", "print JSON lines", false)
    .action((o: { json: boolean }) =>
      withDb(async (db) => {
        const rows = await listUsers(db);
        if (o.json) for (const r of rows) console.log(JSON.stringify(r));
        else if (!rows.length) console.log("no users yet: stowage users create --email you@example.com");
        else console.log(textTable(["id", "email", "role", "created", "tokens"], rows.map((r) => [r.id, r.email, r.role, r.createdAt.toISOString(), r.activeTokens])));
      }),
    );

  users
    .command("revoke")
    .description("revoke a user's API tokens (all of them, or one by its prefix)")
    .requiredOption("--email <email>")
    .option("--prefix <prefix>", "only the token whose prefix (the part after stw_) is this")
    .action((o: { email: string; prefix?: string }) =>
      withDb(async (db) => {
        const n = await revokeTokens(db, o.email, o.prefix);
        console.log(`revoked ${n} token${n === 1 ? "" : "s"} of ${o.email}`);
      }),
    );

  return users;
}
