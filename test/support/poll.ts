/** Polls a condition instead of sleeping: resolves with the first truthy value, rejects after `ms`. */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  ms = 10_000,
  every = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, every));
  }
}
