import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayUrl, redact, registerSecret } from './redact.ts';

describe('redact', () => {
  it('strips user and password from URLs, wherever they appear', () => {
    assert.equal(
      redact('fatal: unable to access https://bot:ghp_abc123@github.com/org/repo.git/: 403'),
      'fatal: unable to access https://***@github.com/org/repo.git/: 403',
    );
    assert.equal(
      redact('from http://u:p@a.example/x to ssh://git@b.example/y'),
      'from http://***@a.example/x to ssh://***@b.example/y',
    );
    assert.equal(redact('HTTPS://token@github.com/x'), 'HTTPS://***@github.com/x');
  });

  it('leaves text without credentials as it is', () => {
    for (const text of [
      'https://github.com/org/repo.git',
      'git@github.com:org/repo.git',
      'https://github.com/org/repo@v1',
      'no url here',
    ]) {
      assert.equal(redact(text), text);
    }
  });

  it('replaces registered secrets everywhere, including regex characters', () => {
    const token = 'tok.+*?[secret]';
    registerSecret(token);
    registerSecret('AKIAEXAMPLEKEY');
    assert.equal(
      redact(`header: ${token}; again ${token}; key AKIAEXAMPLEKEY`),
      'header: ***; again ***; key ***',
    );
  });

  it('ignores empty, missing and very short secrets (they would blank out ordinary text)', () => {
    registerSecret(undefined);
    registerSecret('');
    registerSecret('abc');
    assert.equal(redact('abc abc'), 'abc abc');
  });
});

describe('displayUrl', () => {
  it('drops the userinfo', () => {
    assert.equal(displayUrl('https://user:pass@github.com/org/repo.git'), 'https://github.com/org/repo.git');
    assert.equal(displayUrl('ssh://git@host:2222/repo.git'), 'ssh://host:2222/repo.git');
  });
  it('keeps URLs without userinfo and scp-style addresses unchanged', () => {
    assert.equal(displayUrl('https://github.com/org/repo.git'), 'https://github.com/org/repo.git');
    assert.equal(displayUrl('git@github.com:org/repo.git'), 'git@github.com:org/repo.git');
    assert.equal(displayUrl('file:///srv/git/repo.git'), 'file:///srv/git/repo.git');
  });
});
