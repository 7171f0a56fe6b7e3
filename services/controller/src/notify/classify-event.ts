import { AgentEventKind, type NotifyEvent, type Severity } from '@smgr/shared';
import type { Signal } from './alert-types.js';

/** The columns of an smgr_events row the classifier reads. */
export interface EventRowView {
  readonly id: number;
  readonly at: Date;
  readonly kind: string;
  readonly processId: number | null;
  readonly hostId: string | null;
  readonly service: string | null;
  readonly outcome: string | null;
  readonly message: string;
  /** Parsed `detail` JSON, or null. */
  readonly detail: Record<string, unknown> | null;
}

/** Events a repair on a process ends. */
const REPAIR_CONDITIONS: readonly NotifyEvent[] = ['repair_failed', 'breaker_open', 'alarm_unplaced', 'watch_alarm'];
const ROLLOUT_EVENTS: Record<string, { event: NotifyEvent; severity: Severity }> = {
  halted: { event: 'rollout_halted', severity: 'critical' },
  rolled_back: { event: 'rollout_rolled_back', severity: 'warning' },
  succeeded: { event: 'rollout_succeeded', severity: 'info' },
};
const SEVERITIES = new Set<string>(['info', 'warning', 'critical']);

/**
 * What one smgr_events row means for notifications (a pure function, the
 * whole decision; the tail only reads rows and applies the signals):
 * - `repair` failed: repair_failed fires for the process on its host, and
 *   breaker_open too when the failure opened the circuit breaker; `repair`
 *   succeeded: both resolve (the breaker closed), and so do alarm_unplaced
 *   and watch_alarm of that process / host service;
 * - `breaker_open`: breaker_open fires; `unplaced`: alarm_unplaced fires;
 * - `alarm_cleared` (cleared outside smgr): everything of the process resolves;
 * - `agent_event` with outcome `failing` (the agent's watch): watch_alarm
 *   fires; a `log_match` agent event: log_pattern (one-off);
 * - `rollout` rows of the rollout itself (no host) that reach halted,
 *   rolled_back or succeeded: one-off messages.
 */
export function classifyEvent(e: EventRowView): Signal[] {
  const base = { processId: e.processId, hostId: e.hostId, service: e.service, at: e.at };
  const fire = (key: string, event: NotifyEvent, severity: Severity, message: string, resolvable = true): Signal => ({
    op: 'fire',
    key,
    event,
    severity,
    resolvable,
    message,
    ...base,
  });
  switch (e.kind) {
    case 'repair': {
      if (e.processId === null) return [];
      const where = `${e.processId}:${e.hostId ?? ''}`;
      if (e.outcome === 'succeeded') {
        const out: Signal[] = [{ op: 'resolve', match: { processId: e.processId, events: REPAIR_CONDITIONS }, at: e.at }];
        if (e.hostId && e.service) out.push({ op: 'resolve', match: { hostId: e.hostId, service: e.service, events: ['watch_alarm'] }, at: e.at });
        return out;
      }
      const out: Signal[] = [
        { op: 'resolve', match: { processId: e.processId, events: ['alarm_unplaced'] }, at: e.at },
        fire(`repair_failed:${where}`, 'repair_failed', 'critical', e.message),
      ];
      if (e.message.startsWith('circuit open until')) out.push(fire(`breaker_open:${where}`, 'breaker_open', 'critical', e.message));
      return out;
    }
    case 'breaker_open':
      if (e.processId === null) return [];
      return [fire(`breaker_open:${e.processId}:${e.hostId ?? ''}`, 'breaker_open', 'critical', e.message)];
    case 'unplaced':
      if (e.processId === null) return [];
      return [fire(`alarm_unplaced:${e.processId}`, 'alarm_unplaced', 'warning', `not repaired: ${e.message}`)];
    case 'alarm_cleared':
      if (e.processId === null) return [];
      return [{ op: 'resolve', match: { processId: e.processId, events: REPAIR_CONDITIONS }, at: e.at }];
    case 'agent_event': {
      const kind = typeof e.detail?.['kind'] === 'string' ? (e.detail['kind'] as string) : '';
      if (e.outcome === 'failing' && e.hostId && e.service) {
        return [fire(`watch_alarm:${e.hostId}:${e.service}`, 'watch_alarm', 'warning', e.message)];
      }
      if (kind === AgentEventKind.LOG_MATCH && e.hostId) {
        const sev =
          typeof e.detail?.['severity'] === 'string' && SEVERITIES.has(e.detail['severity'] as string) ? (e.detail['severity'] as Severity) : 'warning';
        return [fire(`log_pattern:${e.hostId}:${e.service ?? ''}:${e.id}`, 'log_pattern', sev, e.message, false)];
      }
      return [];
    }
    case 'rollout': {
      const r = e.hostId === null && e.outcome !== null ? ROLLOUT_EVENTS[e.outcome] : undefined;
      if (!r) return [];
      return [fire(`${r.event}:${e.id}`, r.event, r.severity, e.message, false)];
    }
    default:
      return [];
  }
}
