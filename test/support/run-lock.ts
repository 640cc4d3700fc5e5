// Whether a job's runner lock is held, asked the way a starting server would
// take it: from a session of its own, given straight back.
import type { Database } from "../../src/config.js";
import { takeRunLock } from "../../src/db/run-lock.js";

export async function runLockHeld(database: Extract<Database, { provider: "postgresql" }>, name: string): Promise<boolean> {
  const lock = await takeRunLock(database, name);
  await lock?.release();
  return !lock;
}
