// What a run prints: the violations with the step they were found after, the steps as they
// ran (with their commits and faults), and, for a failed run, the cluster's view of the rollouts.
import type { ControlPlane } from '../../testbed/controlplane.ts';

/** What a report reads of a run (the harness's Real). */
export interface RunRecord {
  readonly t0: number;
  readonly violations: ReadonlyMap<string, { inv: string; step: number; message: string }>;
  readonly tolerated: ReadonlyMap<string, string>;
  readonly steps: readonly { n: number; what: string; start: number; end?: number; notes: string[] }[];
}

/** The cluster's view of the rollouts (for a report: was a timeout the cluster's or the operator's?). */
export async function diagnose(r: {
  w: { stack: { cp: ControlPlane }; namespaces: string[] };
}): Promise<string> {
  const { cp } = r.w.stack;
  const lines: string[] = ['cluster state at the end:'];
  for (const ns of r.w.namespaces) {
    const deps = await cp.request('GET', `/apis/apps/v1/namespaces/${ns}/deployments`).catch(() => undefined);
    const pods = await cp.request('GET', `/api/v1/namespaces/${ns}/pods`).catch(() => undefined);
    type D = {
      metadata: { name: string; generation: number };
      status?: Record<string, number | undefined>;
    };
    type P = {
      metadata: { name: string; deletionTimestamp?: string };
      spec: { nodeName?: string };
      status: { phase: string };
    };
    for (const d of ((deps?.body as { items?: D[] })?.items ?? []) as D[]) {
      const st = d.status ?? {};
      lines.push(
        `  ${ns} Deployment/${d.metadata.name}: generation ${d.metadata.generation}, observed ${st.observedGeneration}, replicas ${st.replicas}, updated ${st.updatedReplicas}, ready ${st.readyReplicas}, available ${st.availableReplicas}`,
      );
    }
    for (const p of ((pods?.body as { items?: P[] })?.items ?? []) as P[]) {
      lines.push(
        `  ${ns} Pod/${p.metadata.name}: ${p.status.phase} on ${p.spec.nodeName ?? '(unscheduled)'}${p.metadata.deletionTimestamp ? `, deleting since ${p.metadata.deletionTimestamp}` : ''}`,
      );
    }
  }
  return lines.join('\n');
}

export function summary(r: RunRecord): string {
  const lines: string[] = [];
  lines.push(`${r.violations.size} invariant violation(s):`);
  for (const v of [...r.violations.values()].sort((a, b) => a.step - b.step)) {
    lines.push(`  [${v.inv}] after step ${v.step}: ${v.message}`);
  }
  if (r.tolerated.size) {
    lines.push(`${r.tolerated.size} deviation(s) tolerated (the cluster's controllers were impaired):`);
    for (const t of r.tolerated.values()) lines.push(`  ${t}`);
  }
  lines.push('steps run:');
  for (const s of r.steps) {
    const dur = s.end ? `${((s.end - s.start) / 1000).toFixed(1)} s` : 'unfinished';
    lines.push(`  ${s.n}. ${s.what} (+${((s.start - r.t0) / 1000).toFixed(1)} s, ${dur})`);
    for (const n of s.notes) lines.push(`       ${n}`);
  }
  return lines.join('\n');
}
