import { roleAtLeast, type Session } from '../api.js';
import { useLoad } from '../hooks.js';
import { ErrorLine, LoadedTable, State, Steps, Table, fmtMs, fmtTime } from '../ui.js';
import { StartOperation } from './operations.js';

/** Column headings of the page's tables. */
const HOST_HEAD = ['Host', 'Connection', 'Claim', 'Version'];
const EVENT_HEAD = ['When', 'Kind', 'Host', 'Outcome', 'Duration', 'Message'];

/** One service: the hosts managing it, its placements and open breakers, its history; operations on it (operators). */
export function ServicePage({ name, session }: { name: string; session: Session }) {
  const q = encodeURIComponent(name);
  const hosts = useLoad<{ hosts: any[] }>(`/v1/hosts?service=${q}`, ['hosts']);
  const placements = useLoad<{ placements: any[] }>('/v1/placements', ['hosts']);
  const extra = useLoad<{ breakers: any[]; versions: any[] }>('/ui/api/overview', ['hosts', 'history', 'operations', 'rollouts']);
  const events = useLoad<{ events: any[] }>(`/v1/events?service=${q}&limit=30`, ['history']);
  const mine = (placements.data?.placements ?? []).filter(
    (p: any) => p.service === name || p.processName === name || String(p.processName ?? '').split('@')[0] === name,
  );
  const breakers = (extra.data?.breakers ?? []).filter((b: any) => b.name === name || String(b.name ?? '').split('@')[0] === name);
  const versionOf = (h: string) => (extra.data?.versions ?? []).find((v: any) => v.hostId === h && v.service === name)?.version ?? '—';
  return (
    <section aria-labelledby="svc-h">
      <h1 id="svc-h">Service {name}</h1>
      <ErrorLine error={hosts.error ?? events.error} />
      {roleAtLeast(session.role, 'operator') ? <StartOperation service={name} /> : null}
      <h2>Hosts</h2>
      <LoadedTable what="hosts" items={hosts.data?.hosts} caption={`Hosts managing ${name}`} empty="No host manages this service." head={HOST_HEAD}>
        {(h) => (
          <tr>
            <th scope="row">{h.hostId}</th>
            <td>
              <State value={h.connected ? 'connected' : 'disconnected'} />
            </td>
            <td>{(h.claims ?? []).find((c: any) => c.service === name)?.state ?? '—'}</td>
            <td>{versionOf(h.hostId)}</td>
          </tr>
        )}
      </LoadedTable>
      <h2>Placement and breaker</h2>
      <Table
        caption="Explicit placements (smgr_placement)"
        head={['Process', 'Host', 'As service']}
        empty={mine.length === 0 && 'No explicit placement: a name@host process name or the single approved host decides.'}
      >
        {mine.map((p: any) => (
          <tr>
            <td>
              {p.processName ?? '—'} <span class="muted">#{p.processId}</span>
            </td>
            <td>{p.hostId}</td>
            <td>{p.service}</td>
          </tr>
        ))}
      </Table>
      <p>
        {breakers.length === 0 ? (
          <span class="muted">No open circuit breaker.</span>
        ) : (
          breakers.map((b: any) => (
            <span class="bad">
              Breaker open for {b.name} on {b.hostId} until {fmtTime(b.openUntil)} after {b.consecutiveFailures} failed repairs.{' '}
            </span>
          ))
        )}
      </p>
      <h2>History</h2>
      <LoadedTable what="history" items={events.data?.events} caption="Events, newest first" empty="No event yet." head={EVENT_HEAD}>
        {(e) => (
          <tr>
            <td>{fmtTime(e.at)}</td>
            <td>{e.kind}</td>
            <td>{e.hostId ?? '—'}</td>
            <td>{e.outcome ? <State value={e.outcome} /> : '—'}</td>
            <td>{fmtMs(e.durationMs)}</td>
            <td>
              {e.message}
              {Array.isArray(e.detail?.steps) && e.detail.steps.length > 0 ? (
                <details>
                  <summary>steps</summary>
                  <Steps steps={e.detail.steps} />
                </details>
              ) : null}
            </td>
          </tr>
        )}
      </LoadedTable>
    </section>
  );
}
