import type { AddressInfo } from "node:net";
import { bootstrapAdmin } from "../auth/users.js";
import { recoverImports } from "../engine/import/service.js";
import { createServer } from "../http/server.js";
import { startSweeper } from "../jobs/sweeper.js";
import { openRuntime, type Runtime } from "../runtime.js";

/** how often a server looks for export jobs that wait for a runner */
const PENDING_WATCH_MS = 30_000;

export async function serve(): Promise<void> {
  // what was running before this moment was left by a process that is gone (or is the CLI's); what this server starts is not
  const startedAt = new Date();
  const rt = await openRuntime();
  const { config, logger } = rt;
  let stopping = false;
  // in the background: on SQLite an import from the CLI can hold the write lock for minutes,
  // and the server serves meanwhile instead of failing to start
  void recoverLeftovers(rt, startedAt).catch((err) => {
    if (!stopping) logger.warn({ err }, "could not fail the exports and imports the previous run left running (is another process writing?); the next start will");
  });
  const stopSweeper = startSweeper(rt, rt.store);
  // PostgreSQL: what another server queued and can no longer run (it stopped) is run here
  rt.exportJobs.watchPending(PENDING_WATCH_MS);
  const server = createServer(rt);
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `${config.publicUrl ?? `http://localhost:${port}`}/graphql`;
  logger.info({ url, database: config.database.provider }, "stowage is serving GraphQL");
  // on stdout whatever the log level: where to go is the one thing everyone needs
  process.stdout.write(`stowage: GraphQL and GraphiQL at ${url} (${config.database.provider})\n`);

  const admin = await bootstrapAdmin(rt.db);
  if (admin) {
    // printed once: the token is stored only as a hash
    process.stdout.write(
      [
        "",
        `First start: created the admin user ${admin.email}. Its API token (shown only now):`,
        "",
        `  ${admin.token}`,
        "",
        `Open ${url} and put {"Authorization": "Bearer ${admin.token}"} in the Headers tab, or:`,
        "",
        `  curl -s ${url} -H 'content-type: application/json' \\`,
        `    -H 'authorization: Bearer ${admin.token}' \\`,
        `    -d '{"query":"{ viewer { id email role } }"}'`,
        "",
        "More users: npx stowage users create --email you@example.com",
        "",
      ].join("\n"),
    );
  }

  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    stopping = true;
    server.close();
    server.closeAllConnections();
    await stopSweeper();
    await rt.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

async function recoverLeftovers(rt: Runtime, before: Date) {
  const recovered = await rt.exportJobs.recover(before);
  if (recovered.resumed || recovered.failed || recovered.queued)
    rt.logger.warn(recovered, "export jobs left by the previous run: running ones start over (or failed, after their last run), pending ones queued");
  const interrupted = await recoverImports(rt.db, rt.config.database, before);
  if (interrupted) rt.logger.warn({ failed: interrupted }, "imports left running by the previous run failed: none of them had committed");
}
