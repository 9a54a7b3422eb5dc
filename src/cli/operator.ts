// The Operator of `run` and `sync`, configured from the environment the entry hands down.

import { groups, variables } from '../config/variables.ts';
import { type Env, loadConfig, logLevel } from '../config.ts';
import type { Operator } from '../operator.ts';
import { registerSecret } from '../source/redact.ts';

/** What the operator reads: its own variables, the AWS SDK's, the Kubernetes client's, git's. */
export const operatorEnvironment = groups('operator', 'aws', 'kube', 'host', 'test');

export async function operatorFromEnv(env: Env): Promise<Operator> {
  // Never echoed; redacted should a message ever carry them.
  for (const v of variables) if ('secret' in v && v.secret) registerSecret(env[v.name]);
  const config = loadConfig(env);
  // Heavy modules (the operator pulls in the Kubernetes client and pino) load only here.
  const [{ Operator }, { createLogger }] = await Promise.all([import('../operator.ts'), import('../log.ts')]);
  return new Operator(config, createLogger(logLevel(env)), { kubeconfig: env.KUBECONFIG, env });
}
