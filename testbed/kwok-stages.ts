// kwok's stages for this testbed: kwok's own (nodes ready, pods ready, Job pods complete, pods
// deleted), plus one of ours — a pod annotated `testbed-fail: MESSAGE` fails (exit 1, that
// termination message) instead of completing, so a test can make a Job fail.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kwokStages } from './binaries.ts';

/** The annotation that makes a Running pod fail, its value the container's termination message. */
export const failAnnotation = 'testbed-fail';

const notFailing = `    - key: '.metadata.annotations["${failAnnotation}"]'
      operator: 'DoesNotExist'
`;

const podFail = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-fail
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.metadata.annotations["${failAnnotation}"]'
      operator: 'Exists'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $root := . }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 1
            finishedAt: {{ $now | Quote }}
            reason: Error
            message: {{ index $root.metadata.annotations "${failAnnotation}" | Quote }}
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
`;

/** Writes the stages into `dir` and returns the file's path. */
export function writeKwokStages(dir: string): string {
  const own = readFileSync(kwokStages(), 'utf8').replace(/\n---\s*$/, '\n');
  const at = own.indexOf('name: pod-complete');
  const expressions = own.indexOf('    matchExpressions:\n', at);
  if (at < 0 || expressions < 0)
    throw new Error(`kwok stages ${kwokStages()}: no pod-complete selector to extend`);
  const after = expressions + '    matchExpressions:\n'.length;
  const path = join(dir, 'kwok-stages.yaml');
  writeFileSync(path, `${own.slice(0, after)}${notFailing}${own.slice(after)}---\n${podFail}`);
  return path;
}
