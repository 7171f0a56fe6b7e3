import { createHash } from 'node:crypto';
import { globMatches, type RouteConfig } from '@smgr/shared';
import { SEVERITY_RANK, type AlertRow, type MessageAlert, type NotificationMessage } from './alert-types.js';

/** What routes need to know about an alert's host and process. */
export interface RouteContext {
  /** Labels of a known host (smgr_agents). */
  labelsOf(hostId: string): Readonly<Record<string, string>> | undefined;
  /** STATUS_PROCESS.sound of a process (false when unknown). */
  soundOf(processId: number): boolean;
}

/** The receivers of every route that matches the alert, without repeats, in route order. */
export function receiversFor(alert: AlertRow, routes: readonly RouteConfig[], ctx: RouteContext): string[] {
  const out: string[] = [];
  for (const r of routes) {
    if (r.events !== undefined && !r.events.includes(alert.event)) continue;
    if (SEVERITY_RANK[alert.severity] < SEVERITY_RANK[r.minSeverity]) continue;
    if (r.services !== undefined && (alert.service === null || !r.services.some((g) => globMatches(g, alert.service!)))) continue;
    const wanted = Object.entries(r.labels);
    if (wanted.length > 0) {
      const have = alert.hostId === null ? undefined : ctx.labelsOf(alert.hostId);
      if (have === undefined || !wanted.every(([k, v]) => have[k] === v)) continue;
    }
    if (r.requireSound && (alert.processId === null || !ctx.soundOf(alert.processId))) continue;
    for (const name of r.receivers) if (!out.includes(name)) out.push(name);
  }
  return out;
}

export interface PlanOptions {
  now: number;
  groupWaitMs: number;
  sendResolved: boolean;
  maxListed: number;
  controllerId: string;
}

/** Messages to enqueue, then the alerts to mark as handed over. */
export interface DispatchPlan {
  messages: NotificationMessage[];
  /** Alerts whose firing was sent (or needs no message). */
  firingDone: string[];
  /** Alerts whose resolve was sent (or needs none). */
  resolvedDone: string[];
}

/**
 * Groups the alerts not yet handed over, Alertmanager style: alerts of one
 * event on one host form a bucket, which is due once its oldest pending
 * alert is `groupWaitMs` old; a due bucket becomes one message per receiver,
 * listing every pending alert in it (an outage of 200 services on a host is
 * one message, and its end one resolve). A pure function: the dispatcher
 * reads the rows, enqueues `messages`, then marks the keys done.
 */
export function planDispatch(pending: readonly AlertRow[], routes: readonly RouteConfig[], ctx: RouteContext, o: PlanOptions): DispatchPlan {
  const plan: DispatchPlan = { messages: [], firingDone: [], resolvedDone: [] };
  const firing = new Map<string, AlertRow[]>();
  const resolving = new Map<string, AlertRow[]>();
  const bucketKey = (a: AlertRow) => `${a.event}\u0000${a.hostId ?? ''}`;
  const add = (m: Map<string, AlertRow[]>, a: AlertRow) => {
    const k = bucketKey(a);
    const list = m.get(k);
    if (list) list.push(a);
    else m.set(k, [a]);
  };
  for (const a of pending) {
    if (!a.notifiedFiring) {
      // Fired and resolved before anyone was told: nothing to say either way.
      if (a.state === 'resolved') {
        plan.firingDone.push(a.key);
        plan.resolvedDone.push(a.key);
      } else add(firing, a);
    } else if (a.state === 'resolved' && !a.notifiedResolved) {
      if (!a.resolvable || !o.sendResolved) plan.resolvedDone.push(a.key);
      else add(resolving, a);
    }
  }
  const emit = (bucket: AlertRow[], status: 'firing' | 'resolved') => {
    const byReceiver = new Map<string, AlertRow[]>();
    for (const a of bucket) {
      for (const r of receiversFor(a, routes, ctx)) {
        const list = byReceiver.get(r);
        if (list) list.push(a);
        else byReceiver.set(r, [a]);
      }
    }
    for (const [receiver, alerts] of byReceiver) plan.messages.push(buildMessage(receiver, status, alerts, o));
  };
  for (const bucket of firing.values()) {
    const oldest = Math.min(...bucket.map((a) => a.firedAt.getTime()));
    if (oldest > o.now - o.groupWaitMs) continue;
    emit(bucket, 'firing');
    for (const a of bucket) {
      plan.firingDone.push(a.key);
      // A one-off has no resolve to wait for.
      if (!a.resolvable) plan.resolvedDone.push(a.key);
    }
  }
  for (const bucket of resolving.values()) {
    const oldest = Math.min(...bucket.map((a) => (a.resolvedAt ?? a.firedAt).getTime()));
    if (oldest > o.now - o.groupWaitMs) continue;
    emit(bucket, 'resolved');
    for (const a of bucket) plan.resolvedDone.push(a.key);
  }
  return plan;
}

function buildMessage(receiver: string, status: 'firing' | 'resolved', alerts: AlertRow[], o: PlanOptions): NotificationMessage {
  const sorted = [...alerts].sort((a, b) => a.firedAt.getTime() - b.firedAt.getTime() || a.key.localeCompare(b.key));
  const first = sorted[0]!;
  const severity = sorted.reduce((s, a) => (SEVERITY_RANK[a.severity] > SEVERITY_RANK[s] ? a.severity : s), first.severity);
  const stamp = (a: AlertRow) => (status === 'firing' ? a.firedAt : (a.resolvedAt ?? a.firedAt)).getTime();
  const id = createHash('sha256')
    .update(JSON.stringify([receiver, status, sorted.map((a) => [a.key, stamp(a)])]))
    .digest('hex')
    .slice(0, 32);
  const where = first.hostId === null ? '' : ` on ${first.hostId}`;
  const what = sorted.length === 1 ? `${first.service ?? ''}${first.service ? ': ' : ''}${first.message}` : `${sorted.length} alerts`;
  return {
    id,
    status,
    receiver,
    event: first.event,
    severity,
    hostId: first.hostId,
    count: sorted.length,
    alerts: sorted.slice(0, o.maxListed).map(toMessageAlert),
    title: `[${status.toUpperCase()}] ${first.event}${where}: ${what}`.slice(0, 300),
    createdAt: new Date(o.now).toISOString(),
    controllerId: o.controllerId,
  };
}

/** What messages and the API show of an alert, whether firing or resolved. */
export function alertFields(a: AlertRow): Omit<MessageAlert, 'resolvedAt'> {
  return { key: a.key, event: a.event, severity: a.severity, hostId: a.hostId, service: a.service, message: a.message, firedAt: a.firedAt.toISOString() };
}

function toMessageAlert(a: AlertRow): MessageAlert {
  return { ...alertFields(a), resolvedAt: a.resolvedAt?.toISOString() ?? null };
}
