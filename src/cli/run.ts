// run: the long-running loop, with /healthz /readyz /metrics /hooks/git and the status page (/);
// SIGTERM finishes the current write and exits 0; losing the leader lease exits 1 (Kubernetes
// restarts a follower).
import type { Env } from '../config.ts';
import { type Options, parse } from './command.ts';
import { operatorEnvironment, operatorFromEnv } from './operator.ts';

export const name = 'run';
export const summary = 'follow CONFIG_REPO and keep MANAGED_NAMESPACES in sync (long-running)';
export const options = {} as const satisfies Options;
export const environment = operatorEnvironment;

export async function run(args: string[], env: Env): Promise<number> {
  parse({ name, options }, args, env);
  const op = await operatorFromEnv(env);
  const { config } = op;
  const { operatorEndpoints, startServer } = await import('../server.ts');
  const { server, port } = await startServer(operatorEndpoints(op), config.listen.host, config.listen.port);
  op.deps.log.info({ port, namespaces: config.managedNamespaces, cluster: config.clusterName }, 'started');
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    op.deps.log.info(`${signal}: finishing the current write, then stopping`);
    stop.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const outcome = await op.run(stop.signal);
  server.close();
  op.close();
  // Losing the lease means another replica leads now: exit so Kubernetes restarts us as a follower.
  return outcome === 'lost-lease' ? 1 : 0;
}
