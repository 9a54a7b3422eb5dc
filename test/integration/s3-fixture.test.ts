// The S3 fixture itself: MinIO with an admin and a PutObject-only user, as the operator will see it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { type S3Fixture, startS3 } from '../../testbed/s3.ts';

let s3: S3Fixture;

before(async () => {
  s3 = await startS3({ bucket: 'gso-test' });
});

after(async () => {
  await s3?.stop();
});

/** An assert.rejects validator: an S3 error with this code and HTTP status. */
function s3Error(name: string, status: number) {
  return (err: unknown) => {
    assert.ok(err instanceof S3ServiceException, `not an S3 error: ${String(err)}`);
    assert.equal(err.name, name);
    assert.equal(err.$metadata.httpStatusCode, status);
    return true;
  };
}

const put = (key: string, body: string) => new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body });

test('the endpoint is path-style on 127.0.0.1 in us-east-1', () => {
  assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(s3.region, 'us-east-1');
  assert.equal(s3.bucket, 'gso-test');
});

test('admin PUT answers 200 and the object reads back', async () => {
  const res = await s3.client(s3.admin).send(put('admin/a.json', '{"a":1}'));
  assert.equal(res.$metadata.httpStatusCode, 200);
  assert.equal(await s3.getObject('admin/a.json'), '{"a":1}');
});

test('put-only PUT answers 200 and the admin sees the object', async () => {
  const res = await s3.client(s3.putOnly).send(put('status/abc.json', '{"ok":true}'));
  assert.equal(res.$metadata.httpStatusCode, 200);
  assert.equal(await s3.getObject('status/abc.json'), '{"ok":true}');
  assert.deepEqual(await s3.listKeys('status/'), ['status/abc.json']);
});

test('put-only GetObject and ListObjectsV2 are denied (403 AccessDenied)', async () => {
  const c = s3.client(s3.putOnly);
  await assert.rejects(
    c.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'status/abc.json' })),
    s3Error('AccessDenied', 403),
  );
  await assert.rejects(c.send(new ListObjectsV2Command({ Bucket: s3.bucket })), s3Error('AccessDenied', 403));
});

test('get-only GetObject reads, a missing key is 404 NoSuchKey (MinIO; AWS says 403); PUT and LIST are denied', async () => {
  const c = s3.client(s3.getOnly);
  const res = await c.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'status/abc.json' }));
  assert.equal(await res.Body?.transformToString(), '{"ok":true}');
  await assert.rejects(
    c.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'status/missing.json' })),
    s3Error('NoSuchKey', 404),
  );
  await assert.rejects(c.send(put('status/x.json', '{}')), s3Error('AccessDenied', 403));
  await assert.rejects(c.send(new ListObjectsV2Command({ Bucket: s3.bucket })), s3Error('AccessDenied', 403));
});

test('a wrong secret is 403 SignatureDoesNotMatch', async () => {
  const c = s3.client({ accessKeyId: s3.putOnly.accessKeyId, secretAccessKey: 'not-the-secret' });
  await assert.rejects(c.send(put('status/x.json', '{}')), s3Error('SignatureDoesNotMatch', 403));
});

test('an unknown access key is 403 InvalidAccessKeyId', async () => {
  const c = s3.client({ accessKeyId: 'nobody', secretAccessKey: 'whatever-secret' });
  await assert.rejects(c.send(put('status/x.json', '{}')), s3Error('InvalidAccessKeyId', 403));
});

test('getObject of a missing key is undefined; listKeys pages through every key', async () => {
  assert.equal(await s3.getObject('missing/key'), undefined);
  const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((k) => s3.putObject(k, k)));
  }
  assert.deepEqual(await s3.listKeys('many/'), keys);
});

test('pause() hangs requests and resume() answers again', async () => {
  // A request sent the moment pause() resolves must hang: SIGSTOP is asynchronous, and MinIO used
  // to answer one such request in a few dozen when pause() returned right after kill().
  for (let round = 1; round <= 10; round++) {
    await s3.pause();
    try {
      await assert.rejects(
        fetch(`${s3.endpoint}/minio/health/live`, { signal: AbortSignal.timeout(200) }),
        { name: 'TimeoutError' },
        `round ${round}: answered while paused`,
      );
    } finally {
      s3.resume();
    }
  }
  const res = await fetch(`${s3.endpoint}/minio/health/live`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
});

test('stopServer() refuses connections; startServer() keeps data, users and policies', async () => {
  await s3.stopServer();
  const c = s3.client(s3.putOnly, { maxAttempts: 1 });
  await assert.rejects(c.send(put('status/during-outage.json', '{}')), /ECONNREFUSED/);
  await s3.startServer();
  assert.equal(await s3.getObject('status/abc.json'), '{"ok":true}');
  const res = await c.send(put('status/after-outage.json', '{}'));
  assert.equal(res.$metadata.httpStatusCode, 200);
  await assert.rejects(
    c.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'status/abc.json' })),
    s3Error('AccessDenied', 403),
  );
});
