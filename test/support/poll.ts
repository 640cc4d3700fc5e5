/** Polls until `check` returns a value (bounded; no timing asserted). */
export async function until<T>(check: () => Promise<T | null | undefined | false>, what: string, tries = 600, everyMs = 50): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}
