/**
 * Notification tests' checks against a fleet's controller: what its API
 * says about deliveries.
 */
import { waitFor } from '../harness/index.js';
import type { Fleet } from './operator-api.js';

export interface DeadLetter {
  receiver: string;
  attempts: number;
  error: string;
  [field: string]: unknown;
}

/** Waits until GET /v1/notify/dead-letters (as a viewer) lists one for `receiver`; returns it. */
export function waitForDeadLetter(fleet: Fleet, receiver: string, timeoutMs = 30_000): Promise<DeadLetter> {
  return waitFor(
    async () => {
      const r = await fleet.api.as(fleet.tokens.viewer).get('/v1/notify/dead-letters');
      return ((r.body?.deadLetters ?? []) as DeadLetter[]).find((d) => d.receiver === receiver);
    },
    { timeoutMs, intervalMs: 200, message: `dead letter for ${receiver}`, context: () => fleet.controller.tail() },
  );
}
