// The environment of an operator wired to the local control plane, git repo and S3 server.
import type { ControlPlane } from './controlplane.ts';
import type { ConfigRepo } from './git.ts';
import type { S3Fixture } from './s3.ts';

/** The operator gets the PutObject-only S3 key, as the seed's IAM policy. */
export function operatorEnv(o: {
  repo: ConfigRepo;
  s3: S3Fixture;
  cp: ControlPlane;
  cluster: string;
  namespaces: string[];
}): Record<string, string> {
  return {
    CONFIG_REPO: o.repo.fileUrl,
    CLUSTER_NAME: o.cluster,
    MANAGED_NAMESPACES: o.namespaces.join(','),
    S3_BUCKET: o.s3.bucket,
    AWS_ACCESS_KEY_ID: o.s3.putOnly.accessKeyId,
    AWS_SECRET_ACCESS_KEY: o.s3.putOnly.secretAccessKey,
    AWS_REGION: o.s3.region,
    AWS_ENDPOINT_URL_S3: o.s3.endpoint,
    KUBECONFIG: o.cp.kubeconfig,
    GIT_SYNC_INTERVAL: '1',
  };
}
