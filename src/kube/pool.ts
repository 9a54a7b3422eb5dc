/** Runs `fn` over items with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Like mapLimit, but collects every failure instead of stopping at the first. */
export async function settleLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<{ results: (R | undefined)[]; errors: { item: T; error: unknown }[] }> {
  const errors: { item: T; error: unknown }[] = [];
  const results = await mapLimit(items, limit, async (item) => {
    try {
      return await fn(item);
    } catch (error) {
      errors.push({ item, error });
      return undefined;
    }
  });
  return { results, errors };
}
