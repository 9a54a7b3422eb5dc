// Stage 6: hand every decided outcome still pending to its sink (the S3 files). What cannot be
// delivered stays in the Version status for the next pass or the next replica.
import { inlineDeliveryMs, type Recorder } from '../version/recorder.ts';
import type { SyncContext } from './context.ts';

/** Delivers what is pending now, bounded: a hung sink never holds the rollout that follows. */
export function deliverOnTheWay(ctx: SyncContext, rec: Recorder): Promise<void> {
  return rec.deliver(ctx.opts.signal, inlineDeliveryMs);
}

/** Delivers everything pending at the end of a pass; returns how many deliveries are left. */
export async function deliver(ctx: SyncContext, rec: Recorder): Promise<number> {
  await rec.deliver(ctx.opts.signal, undefined, ctx.opts.shutdown);
  return rec.undelivered;
}
