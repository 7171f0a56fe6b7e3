import { useLoad } from '../hooks.js';
import { ErrorLine, Loading, State, Table, fmtAgo, fmtTime } from '../ui.js';

/** Fleet: every host, connected or not, its labels, agent version, services (with the last version seen) and open breakers. */
export function FleetPage() {
  const hosts = useLoad<{ hosts: any[] }>('/v1/hosts', ['hosts']);
  const extra = useLoad<{ breakers: any[]; versions: any[] }>('/ui/api/overview', ['hosts', 'rollouts', 'operations', 'history']);
  const versions = new Map<string, string>();
  for (const v of extra.data?.versions ?? []) versions.set(`${v.hostId}\u0000${v.service}`, v.version);
  const breakersOf = (hostId: string) => (extra.data?.breakers ?? []).filter((b) => b.hostId === hostId);
  const list = hosts.data?.hosts ?? [];
  return (
    <section aria-labelledby="fleet-h">
      <h1 id="fleet-h">Fleet</h1>
      <ErrorLine error={hosts.error ?? extra.error} />
      {hosts.data === null ? (
        <Loading what="hosts" />
      ) : (
        <>
          <p class="muted">
            {list.length} host(s), {list.filter((h) => h.connected).length} connected, {(extra.data?.breakers ?? []).length} open breaker(s).
          </p>
          <Table
            caption="Hosts"
            head={['Host', 'Connection', 'Last seen', 'Labels', 'Agent', 'Services (version)', 'Open breakers']}
            empty={list.length === 0 && 'No agent has connected yet.'}
          >
            {list.map((h) => (
              <tr data-host={h.hostId}>
                <th scope="row">{h.hostId}</th>
                <td>
                  <State value={h.connected ? 'connected' : 'disconnected'} />
                </td>
                <td title={fmtTime(h.lastSeen)}>{fmtAgo(h.lastSeen)}</td>
                <td>
                  <div class="chips">
                    {Object.entries(h.labels ?? {}).map(([k, v]) => (
                      <span class="chip">{`${k}=${String(v)}`}</span>
                    ))}
                  </div>
                </td>
                <td>{h.agentVersion}</td>
                <td>
                  <div class="chips">
                    {(h.claims ?? []).map((c: any) => (
                      <a class="chip" href={`#/service/${encodeURIComponent(c.service)}`}>
                        {c.service}
                        {versions.has(`${h.hostId}\u0000${c.service}`) ? ` ${versions.get(`${h.hostId}\u0000${c.service}`)}` : ''}
                        {c.state !== 'approved' ? ` (${c.state})` : ''}
                      </a>
                    ))}
                  </div>
                </td>
                <td>
                  {breakersOf(h.hostId).map((b) => (
                    <div class="bad">
                      {b.name ?? `process ${b.processId}`}: open until {fmtTime(b.openUntil)} ({b.consecutiveFailures} failures)
                    </div>
                  ))}
                  {breakersOf(h.hostId).length === 0 ? <span class="muted">none</span> : null}
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </section>
  );
}
