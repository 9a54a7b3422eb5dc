import { isoSeconds } from '../time.ts';
import type { Condition } from './types.ts';

/** Sets a condition, keeping lastTransitionTime when the status did not change. */
export function setCondition(
  list: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now = new Date(),
): Condition[] {
  const old = list?.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : isoSeconds(now);
  return [...(list ?? []).filter((c) => c.type !== next.type), { ...next, lastTransitionTime }].sort((a, b) =>
    a.type.localeCompare(b.type),
  );
}

/** Sets several conditions at once (each keeps its lastTransitionTime when its status is unchanged). */
export function setConditions(
  list: readonly Condition[] | undefined,
  ...next: Omit<Condition, 'lastTransitionTime'>[]
): Condition[] {
  return next.reduce<Condition[]>((acc, c) => setCondition(acc, c), [...(list ?? [])]);
}
