// Objects the apiserver cannot update in place (a Job's template, a Deployment's selector, a
// PVC's storage class): told apart from plain invalid ones, checked as a create, then deleted —
// waiting until they are gone — so that the apply creates them again.
import type { KubeObject } from '../manifests/object.ts';
import { ApiError, ifFound, type KubeClient, type StatusCause } from './client.ts';
import { fieldManager, recreateAnnotation } from './labels.ts';
import type { RestMapper } from './mapping.ts';
import { ApplySetError } from './set-error.ts';

/** Where the objects live (a PlanContext is one). */
interface Target {
  client: KubeClient;
  mapper: RestMapper;
  namespace: string;
}

/** How the apiserver words "this field cannot change" (validation of Jobs, Services, PVCs, StatefulSets). */
const immutable = /\bimmutable\b|may not change once set|updates to [a-z]+ spec for fields other than/i;

/**
 * The fields a refused update names as immutable, when immutability is all that is wrong with it;
 * undefined for any other error (a plain invalid object fails the set as before).
 */
export function immutableFields(err: unknown): string[] | undefined {
  if (!(err instanceof ApiError) || err.status !== 422) return undefined;
  const causes: StatusCause[] = err.causes.length ? err.causes : [{ message: err.message }];
  if (!causes.every((c) => immutable.test(c.message ?? ''))) return undefined;
  return [...new Set(causes.map((c) => c.field ?? 'spec'))];
}

/**
 * Jobs are recreated when changed (their template never updates); any object by annotation —
 * except a PersistentVolumeClaim: deleting it deletes its data.
 */
export const recreatable = (o: KubeObject): boolean =>
  o.kind === 'Job' ||
  (o.kind !== 'PersistentVolumeClaim' && o.metadata.annotations?.[recreateAnnotation] === 'true');

/** The one-line error for an immutable change without the opt-in. */
export function immutableError(o: KubeObject, fields: readonly string[]): ApiError {
  const how =
    o.kind === 'PersistentVolumeClaim'
      ? 'a PersistentVolumeClaim is never recreated (its data would go): migrate it by hand'
      : `to delete and create the object again, annotate it in git with ${recreateAnnotation}: "true"`;
  return new ApiError(
    422,
    'Invalid',
    `${o.kind}/${o.metadata.name}: ${fields.join(', ')}: field is immutable; ${how}`,
  );
}

/**
 * Validates `o` as a create (a dry-run POST): the update was refused only as immutable, so the
 * object as it would be created must be valid before anything is deleted. An existing object
 * answers 409 AlreadyExists after validation passed.
 */
export async function validateCreate(ctx: Target, o: KubeObject): Promise<void> {
  const path = await ctx.mapper.path(o.apiVersion, o.kind, o.metadata.namespace ?? ctx.namespace);
  try {
    await ctx.client.json('POST', `${path}?dryRun=All&fieldManager=${fieldManager}`, { body: o });
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && err.reason === 'AlreadyExists') return;
    throw err;
  }
}

/**
 * Deletes the object (foreground: a Job's pods and a Deployment's ReplicaSets go first) and waits
 * until it is gone, so the apply that follows creates it and never meets the old one. A refusal or
 * a deletion that does not end in time is an ApplySetError: a verdict on the commit (4xx).
 */
export async function deleteAndWait(ctx: Target, o: KubeObject, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const name = `${o.kind}/${o.metadata.name}`;
  try {
    const path = await ctx.mapper.path(o.apiVersion, o.kind, ctx.namespace, o.metadata.name);
    await ifFound(ctx.client.json('DELETE', path, { body: { propagationPolicy: 'Foreground' } }));
    while ((await ifFound(ctx.client.json('GET', path))) !== undefined) {
      if (Date.now() > deadline)
        throw new ApiError(
          409,
          'Conflict',
          `still being deleted after ${timeoutMs / 1000} s (a finalizer holds it)`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    throw new ApplySetError([
      {
        object: name,
        message: `cannot recreate it: ${(err as Error).message}`,
        status: err instanceof ApiError ? err.status : 0,
      },
    ]);
  }
}
