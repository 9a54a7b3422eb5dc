// Where decided outcomes go. A sink renders what it owes for an outcome (kept in the Version
// status until sent, so a restart neither loses nor repeats it) and sends it later. The S3 files
// are the first sink; commit statuses and webhooks plug in here without touching the sync stages.
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

/** What a sink still has to send: `key` names it for logs and dedup, `body` is sent as is. */
export interface Delivery {
  /** Which sink owes it; absent for the S3 sink (status written before sinks had names). */
  sink?: string;
  key: string;
  body: string;
}

export interface Sink {
  /** Stable name, stored with each pending delivery. */
  readonly name: string;
  /** The delivery this sink owes for an outcome, or undefined when it tells nothing of it. */
  render(outcome: Decided): Omit<Delivery, 'sink'> | undefined;
  /** Sends one delivery; a throw keeps it pending for the next flush. `signal` ends it early. */
  send(delivery: Delivery, signal?: AbortSignal): Promise<void>;
}

/** The sink a pending delivery belongs to (S3 when it names none). */
export const sinkOf = (sinks: readonly Sink[], d: Delivery): Sink | undefined =>
  sinks.find((s) => s.name === (d.sink ?? 's3'));
