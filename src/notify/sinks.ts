// The sinks this configuration asks for, in one place: S3 (the CI contract), commit statuses, the
// generic webhook, Slack. Each gets every outcome it renders, exactly once (src/version/outcomes.ts,
// commits.ts), and is sent beside the others (dispatch.ts).
import type { Config, Env } from '../config.ts';
import { commitStatusSink } from './commit-status.ts';
import { s3Sink } from './s3.ts';
import type { Sink } from './sink.ts';
import { slackSink } from './slack.ts';
import { webhookSink } from './webhook.ts';

export function sinksFor(config: Config, env: Env): Sink[] {
  const { clusterName: cluster, notify } = config;
  const pageUrl = notify.pageUrl;
  const sinks: Sink[] = [];
  if (config.s3Bucket) sinks.push(s3Sink({ bucket: config.s3Bucket, cluster, env }));
  if (notify.commitStatus) sinks.push(commitStatusSink({ ...notify.commitStatus, cluster, pageUrl }));
  if (notify.webhook) sinks.push(webhookSink({ ...notify.webhook, cluster, pageUrl }));
  if (notify.slack) sinks.push(slackSink({ ...notify.slack, cluster, pageUrl }));
  return sinks;
}
