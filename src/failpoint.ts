// A test knob: GSO_FAILPOINT=name or name@namespace makes the process SIGKILL itself when a
// reconcile reaches that step (test/faults/kill.test.ts), a crash at an exact point. Unset: no-op.
import { writeSync } from 'node:fs';

let armed: { name: string; namespace: string | undefined } | null | undefined;

/** SIGKILLs this process if GSO_FAILPOINT names `name` (and `namespace`, when it gives one). */
export function failpoint(name: string, namespace?: string): void {
  if (armed === undefined) {
    const spec = process.env.GSO_FAILPOINT?.trim();
    const [point = '', ns] = spec ? spec.split('@') : [];
    armed = point ? { name: point, namespace: ns || undefined } : null;
  }
  if (!armed || armed.name !== name || (armed.namespace && armed.namespace !== namespace)) return;
  // Only the step and the namespace: nothing secret. A synchronous write, as SIGKILL drops buffers.
  writeSync(2, `git-sync-operator: failpoint ${name}@${namespace ?? ''}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
