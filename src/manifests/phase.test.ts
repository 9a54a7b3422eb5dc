import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { phaseAnnotation, recreateAnnotation } from '../kube/labels.ts';
import { parseFile } from './parse.ts';
import { annotationProblem, phaseOf } from './phase.ts';

const job = (annotations: Record<string, string>) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'migrate', annotations },
});

describe('phaseOf', () => {
  it('pre and post by annotation; anything else is the main phase', () => {
    assert.equal(phaseOf(job({ [phaseAnnotation]: 'pre' })), 'pre');
    assert.equal(phaseOf(job({ [phaseAnnotation]: 'post' })), 'post');
    assert.equal(phaseOf(job({})), 'main');
  });
});

describe('annotationProblem', () => {
  it('accepts pre, post and recreate true/false', () => {
    assert.equal(
      annotationProblem('Job', { [phaseAnnotation]: 'pre', [recreateAnnotation]: 'true' }),
      undefined,
    );
    assert.equal(
      annotationProblem('Job', { [phaseAnnotation]: 'post', [recreateAnnotation]: 'false' }),
      undefined,
    );
    assert.equal(annotationProblem('Job', undefined), undefined);
  });
  it('refuses another phase, a post Deployment and a recreate value other than true/false', () => {
    assert.match(annotationProblem('Job', { [phaseAnnotation]: 'before' }) ?? '', /must be "pre" or "post"/);
    assert.match(
      annotationProblem('Deployment', { [phaseAnnotation]: 'post' }) ?? '',
      /cannot be set on a Deployment/,
    );
    assert.match(
      annotationProblem('Deployment', { [recreateAnnotation]: 'yes' }) ?? '',
      /must be "true" or "false"/,
    );
  });
  it('a bad value fails the file at the line of its object', () => {
    const text = `${JSON.stringify(job({}))}\n---\n${JSON.stringify(job({ [phaseAnnotation]: 'later' }))}\n`;
    assert.throws(
      () => parseFile('iowa-a/web/jobs.yaml', text, 'web'),
      (err: Error & { line?: number }) =>
        /jobs\.yaml/.test(err.message) && /phase is "later"/.test(err.message) && err.line === 2,
    );
  });
});
