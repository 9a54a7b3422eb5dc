/** A problem with the config folder: names the file (and document), so a person can fix it. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    problem: string,
    readonly line?: number,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${problem}`);
    this.name = 'ManifestError';
  }
}

/**
 * Several manifest problems at once; nothing of the namespace is applied. `parsed` holds the
 * kind/name of objects in files that did parse: CI may be waiting on those Deployments too.
 */
export class ManifestSetError extends Error {
  constructor(
    readonly errors: ManifestError[],
    readonly parsed: readonly { kind: string; name: string }[] = [],
  ) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'ManifestSetError';
  }
}
