// Page views must be cheap for the apiserver: however many browsers poll, the Versions are read at
// most once per `ttlMs`, and concurrent views share the read in flight.

/**
 * `fn` whose result (or failure) is reused for `ttlMs` after it settled; while a call is in flight
 * every caller shares it (a read slower than `ttlMs` never starts a second one beside it).
 */
export function cachedFor<T>(
  ttlMs: number,
  fn: () => Promise<T>,
  clock = () => Date.now(),
): () => Promise<T> {
  let last: { settledAt: number | undefined; value: Promise<T> } | undefined;
  return () => {
    const at = last?.settledAt;
    if (last && (at === undefined || clock() - at < ttlMs)) return last.value;
    const entry: { settledAt: number | undefined; value: Promise<T> } = { settledAt: undefined, value: fn() };
    const settle = () => {
      entry.settledAt = clock();
    };
    entry.value.then(settle, settle);
    last = entry;
    return entry.value;
  };
}
