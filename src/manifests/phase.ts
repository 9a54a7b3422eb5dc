// The operator's annotations on an object of the set: its phase (applied and waited for before or
// after the rest) and the opt-in to recreate it when a change is immutable.
import { phaseAnnotation, recreateAnnotation } from '../kube/labels.ts';
import type { KubeObject } from './object.ts';

export type Phase = 'pre' | 'main' | 'post';

export function phaseOf(o: KubeObject): Phase {
  const p = o.metadata.annotations?.[phaseAnnotation];
  return p === 'pre' || p === 'post' ? p : 'main';
}

/** What is wrong with the object's phase or recreate annotation, or undefined. */
export function annotationProblem(kind: string, annotations: unknown): string | undefined {
  if (typeof annotations !== 'object' || annotations === null) return undefined;
  const { [phaseAnnotation]: phase, [recreateAnnotation]: recreate } = annotations as Record<string, unknown>;
  if (phase !== undefined && phase !== 'pre' && phase !== 'post')
    return `${phaseAnnotation} is "${String(phase)}"; it must be "pre" or "post"`;
  // CI waits on each Deployment's outcome, decided by the main rollout: nothing may roll after it.
  if (phase === 'post' && kind === 'Deployment')
    return `${phaseAnnotation}: post cannot be set on a Deployment (its rollout is what CI waits for); use pre or none`;
  if (recreate !== undefined && recreate !== 'true' && recreate !== 'false')
    return `${recreateAnnotation} is "${String(recreate)}"; it must be "true" or "false"`;
  return undefined;
}
