import { autoApproves, type AutoApproveRules } from '@smgr/shared';

/**
 * A host→service claim (docs/security.md, "Host claims"): a service an agent
 * declares in its Hello. Only an approved claim lets the host take part in
 * placement by plain process name, receive repair jobs for such rows, and
 * raise alarms from its watch.
 *
 *   (declared) ──decideClaim──► approved            no conflict, host covered by auto_approve
 *                           └─► pending ──approve──► approved
 *                                       └─reject───► rejected ──approve --service──► approved
 *   approved ──reject──► rejected;  forget: the host's claims are deleted.
 *
 * Nothing moves a claim but this first decision and an operator: a pending
 * claim stays pending when its conflict goes away, as a key waits in
 * `salt-key` until someone accepts it.
 */
export type ClaimState = 'pending' | 'approved' | 'rejected';

export const CLAIM_STATES: readonly ClaimState[] = ['pending', 'approved', 'rejected'];

/** What the first decision on a claim looks at. */
export interface ClaimQuestion {
  hostId: string;
  /** Labels from the host's Hello (for `key=value` rules). */
  labels: Readonly<Record<string, string>>;
  service: string;
  /** Other hosts whose approved claim on `service` places its plain-named rows today. */
  otherHolders: readonly string[];
  /**
   * Whether a PROCESE row is named exactly `service` and has no smgr_placement
   * row, i.e. is placed through claims. Only needed when `otherHolders` is
   * not empty (see needsRowCheck).
   */
  plainRow: boolean;
  rules: AutoApproveRules;
}

export interface ClaimDecision {
  state: 'approved' | 'pending';
  /** Why, in a line for `smgr hosts` and the log. */
  reason: string;
}

/** Whether the decision depends on the PROCESE rows (else decideClaim may be called with plainRow false). */
export function needsRowCheck(otherHolders: readonly string[]): boolean {
  return otherHolders.length > 0;
}

/**
 * The first decision on a claim. A claim that would change an existing
 * placement (a plain-named row repaired today by another host, which this
 * claim would make AMBIGUOUS, or a row already ambiguous among others) is
 * held for an operator whatever the rules say; any other claim is approved
 * when the host is covered by `auto_approve`, and held otherwise.
 */
export function decideClaim(q: ClaimQuestion): ClaimDecision {
  if (q.otherHolders.length > 0 && q.plainRow) {
    const others = q.otherHolders.slice(0, 3).join(', ') + (q.otherHolders.length > 3 ? ', …' : '');
    const now = q.otherHolders.length === 1 ? `repaired by ${others}` : `ambiguous among ${others}`;
    return {
      state: 'pending',
      reason: `would change where row ${JSON.stringify(q.service.slice(0, 60))} is repaired (now ${now}); approve to make it ambiguous`,
    };
  }
  if (autoApproves(q.rules, q.hostId, q.labels)) return { state: 'approved', reason: 'auto_approve: changes no existing placement' };
  return { state: 'pending', reason: 'host not covered by controller.auto_approve' };
}

/**
 * The services an operator's approve/reject acts on. With a service: that
 * claim, whatever its state (undefined when the host never claimed it).
 * Without: approve takes every pending claim (a rejected one needs its
 * service named, as `salt-key` wants rejected keys named), reject takes every
 * claim not already rejected.
 */
export function claimsToChange(claims: ReadonlyMap<string, ClaimState>, action: 'approve' | 'reject', service?: string): string[] | undefined {
  if (service !== undefined) return claims.has(service) ? [service] : undefined;
  const target: ClaimState = action === 'approve' ? 'approved' : 'rejected';
  return [...claims.entries()]
    .filter(([, state]) => state !== target && (action === 'reject' || state === 'pending'))
    .map(([s]) => s)
    .sort();
}
