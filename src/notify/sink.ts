// Where decided outcomes go. A sink renders what it owes for an outcome (kept in the Version
// status until sent, so a restart neither loses nor repeats it) and sends it later. The S3 files
// are the first sink; commit statuses, the generic webhook and Slack are the others.
import type { FailureReason } from '../version/reasons.ts';

/** One (deployment, sha) outcome, decided once. */
export type Decided =
  | { namespace: string; deployment: string; sha7: string; healthyAt: string }
  | {
      namespace: string;
      deployment: string;
      sha7: string;
      reason: FailureReason;
      message: string;
      at: string;
    };

/**
 * A commit's state in one namespace: `pending` once applied, then one final state — `success`
 * (every workload healthy), `failure` (refused, or its rollout failed) or `superseded` (a newer
 * commit was applied first). Each is told once per (namespace, sha, state).
 */
export type CommitState = 'pending' | 'success' | 'failure' | 'superseded';

export interface CommitEvent {
  namespace: string;
  /** The full sha (the git hosts' status APIs want it). */
  sha: string;
  state: CommitState;
  /** One line: what happened (for a failure, `Reason: message`). */
  description: string;
  subject?: string | undefined;
  author?: string | undefined;
  at: string;
}

/** What a sink still has to send: `key` names it for logs and dedup, `body` is sent as is. */
export interface Delivery {
  /** Which sink owes it; absent for the S3 sink (status written before sinks had names). */
  sink?: string;
  key: string;
  body: string;
  /** Failed sends so far (sinks with a retry policy). */
  attempts?: number;
  /** Not tried again before this time (ISO). */
  retryAt?: string;
}

/** How a sink's failed delivery is retried: exponential backoff with jitter, capped. */
export interface RetryPolicy {
  baseMs: number;
  capMs: number;
}

export interface Sink {
  /** Stable name, stored with each pending delivery. */
  readonly name: string;
  /** Without one, a failed delivery is tried again at every flush (each pass). */
  readonly retry?: RetryPolicy;
  /**
   * false: not sent by the bounded flushes on the way (whose budget may cut a request short and
   * send it again), only by the pass's last flush. For a target that cannot drop a repeat (Slack).
   */
  readonly onTheWay?: boolean;
  /** The delivery this sink owes for a Deployment's outcome, or undefined when it tells nothing of it. */
  render?(outcome: Decided): Pick<Delivery, 'key' | 'body'> | undefined;
  /** The delivery this sink owes for a commit's state, or undefined when it tells nothing of it. */
  renderCommit?(event: CommitEvent): Pick<Delivery, 'key' | 'body'> | undefined;
  /** Sends one delivery; a throw keeps it pending. `signal` ends it early. */
  send(delivery: Delivery, signal?: AbortSignal): Promise<void>;
}

/** The sink a pending delivery belongs to (S3 when it names none). */
export const sinkOf = (sinks: readonly Sink[], d: Delivery): Sink | undefined =>
  sinks.find((s) => s.name === (d.sink ?? 's3'));

/** A sink's rendered delivery, stamped with its name (the S3 sink's stay unnamed). */
export const owed = (sink: Sink, d: Pick<Delivery, 'key' | 'body'>): Delivery =>
  sink.name === 's3' ? { key: d.key, body: d.body } : { sink: sink.name, key: d.key, body: d.body };

/** When a delivery that failed `attempts` times may be tried again: base·2^(n-1), capped, jittered. */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random = Math.random): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.5 + random() / 2)); // "equal jitter": never less than half the step
}
