import { Command, InvalidArgumentError } from "commander";
import { createUser } from "../auth/users.js";
import { openRuntime } from "../runtime.js";
import { DEFAULT_SCALE, DEFAULT_SEED, KINDS, seedDemo } from "../seed/index.js";
import { progressReporter } from "./progress.js";

interface SeedCliOptions {
  demo?: boolean;
  user: string;
  scale: number;
  seed: string;
  json: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

export function seedCommand(): Command {
  return new Command("seed")
    .description("fill a user's workspace with generated data")
    .option("--demo", "realistic demo data of both families: memories and video annotations")
    .option("--user <email>", "owner of the data; created (USER role) when missing, its token printed once", "demo@example.com")
    .option("--scale <n>", "about how many records in all", positiveInt, DEFAULT_SCALE)
    .option("--seed <s>", "seed of the generator: the same seed, scale and user give the same data", String(DEFAULT_SEED))
    .option("--json", 'print one JSON line {"user","seed","scale","total","counts","elapsedMs"}', false)
    .action(async function (this: Command, o: SeedCliOptions) {
      if (!o.demo) this.error("error: say what to seed: --demo is the only kind of data so far", { exitCode: 2 });
      const rt = await openRuntime();
      try {
        const email = o.user.trim().toLowerCase();
        let user = await rt.db.user.findUnique({ where: { email } });
        let token: string | undefined;
        if (!user) {
          ({ user, token } = await createUser(rt.db, { email, role: "USER" }));
          if (!o.json) console.log(`created ${user.role} ${user.email} (${user.id})\ntoken (shown once): ${token}`);
        }
        const progress = progressReporter("seeding", "records", o.json);
        const started = performance.now();
        let result;
        try {
          result = await seedDemo(rt.db, { userId: user.id, scale: o.scale, seed: o.seed, onProgress: (p) => progress.update(p.written, Math.max(p.expected, p.written), p.kind) });
        } catch (err) {
          // the account exists now: do not lose the only copy of its token
          if (token && o.json) process.stderr.write(`created ${user.role} ${user.email} (${user.id}); token (shown once): ${token}\n`);
          throw err;
        } finally {
          progress.stop();
        }
        const elapsedMs = Math.round(performance.now() - started);
        if (o.json) {
          console.log(
            JSON.stringify({
              user: { id: user.id, email: user.email, created: token !== undefined, ...(token ? { token } : {}) },
              seed: o.seed,
              scale: o.scale,
              total: result.total,
              counts: result.counts,
              elapsedMs,
            }),
          );
        } else {
          const counts = KINDS.map((k) => `${k} ${result.counts[k]}`).join(", ");
          console.log(`seeded ${result.total} records for ${user.email} in ${(elapsedMs / 1000).toFixed(1)}s (seed ${o.seed}, scale ${o.scale}): ${counts}`);
        }
      } finally {
        await rt.close();
      }
    });
}
