// `npm run cluster`: starts a local control plane for a person and keeps it until Ctrl-C.
import { startControlPlane } from './controlplane.ts';

const cp = await startControlPlane({ nodes: 1 });
process.stdout.write(
  [
    `local Kubernetes is up at ${cp.server} (logs and data in ${cp.dir})`,
    '',
    `  export KUBECONFIG=${cp.kubeconfig}`,
    '  kubectl get nodes',
    '  kubectl create deployment web --image=nginx --replicas=2 && kubectl rollout status deployment/web',
    '',
    'Press Ctrl-C to stop it.',
    '',
  ].join('\n'),
);
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('stopping…\n');
  await cp.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
// Keep the process alive; fail loudly if a component dies.
await Promise.race(cp.services.map((s) => s.exited)).catch(async (err: Error) => {
  process.stderr.write(`${err.message}\n`);
  await cp.stop();
  process.exit(1);
});
