// A set the apiserver refused: each object with its message and HTTP status (a 4xx other than
// 408/429 is a verdict on the commit; see sync/apply.ts).
import { ApiError } from './client.ts';

export class ApplySetError extends Error {
  constructor(readonly failures: { object: string; message: string; status: number }[]) {
    super(failures.map((f) => `${f.object}: ${f.message}`).join('; '));
    this.name = 'ApplySetError';
  }
}

export function setError(
  errors: { item: { kind: string; metadata: { name: string } }; error: unknown }[],
): ApplySetError {
  return new ApplySetError(
    errors.map(({ item, error }) => ({
      object: `${item.kind}/${item.metadata.name}`,
      message: error instanceof Error ? error.message : String(error),
      status: error instanceof ApiError ? error.status : 0,
    })),
  );
}
