import { useEffect, useState } from 'preact/hooks';
import { api, roleAtLeast, type Session } from '../api.js';
import { useAction, useLoad } from '../hooks.js';
import { onLive } from '../live.js';
import { ErrorLine, LoadedTable, Loading, State, Steps, Table, fmtMs, fmtTime } from '../ui.js';

/** Column headings of the page's tables. */
const REPAIR_HEAD = ['When', 'Process', 'Host', 'Outcome', 'Duration', 'Note and steps'];

/**
 * Alarms and incidents, live: the processes in alarm now (from the feed's
 * `alarms` events, no reload) and the latest repairs with their note and
 * steps (argv, exit code, output tail, duration).
 */
export function AlarmsPage({ session }: { session: Session }) {
  const initial = useLoad<{ alarms: any[] }>('/v1/alarms', []);
  const [alarms, setAlarms] = useState<any[] | null>(null);
  const repairs = useLoad<{ events: any[] }>('/v1/events?kind=repair&limit=15', ['history']);
  const processes = useLoad<{ processes: any[] }>('/v1/processes', ['history']);
  const act = useAction();
  useEffect(() => {
    if (initial.data) setAlarms(initial.data.alarms);
  }, [initial.data]);
  useEffect(
    () =>
      onLive((topic, data) => {
        if (topic === 'alarms' && Array.isArray(data?.alarms)) setAlarms(data.alarms);
      }),
    [],
  );
  const canChange = roleAtLeast(session.role, 'operator');
  const notes = new Map<number, string | null>((processes.data?.processes ?? []).map((p) => [p.processId, p.notes]));
  const clear = (processId: number) => act.run(() => api('POST', '/v1/alarms/clear', { processIds: [processId] }));
  return (
    <section aria-labelledby="alarms-h">
      <h1 id="alarms-h">Alarms and incidents</h1>
      <ErrorLine error={initial.error ?? act.error} />
      <div aria-live="polite" aria-atomic="false">
        {alarms === null ? (
          <Loading what="alarms" />
        ) : (
          <Table
            caption={`In alarm now: ${alarms.length}`}
            head={['Process', 'Incident', 'Host', 'Attempts', 'Last message', ...(canChange ? ['Action'] : [])]}
            empty={alarms.length === 0 && 'No process is in alarm.'}
          >
            {alarms.map((a) => (
              <tr data-alarm={a.name}>
                <th scope="row">
                  <a href={`#/service/${encodeURIComponent(a.name.split('@')[0])}`}>{a.name}</a> <span class="muted">#{a.processId}</span>
                </th>
                <td>{a.incident ? <State value={a.incident.state} /> : <State value="alarm" />}</td>
                <td>{a.incident?.hostId ?? '—'}</td>
                <td>{a.incident?.attempts ?? 0}</td>
                <td>{a.incident?.lastMessage ?? a.notes ?? '—'}</td>
                {canChange ? (
                  <td>
                    <button type="button" class="secondary" disabled={act.busy} onClick={() => void clear(a.processId)} aria-label={`Clear alarm of ${a.name}`}>
                      Clear alarm
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </Table>
        )}
      </div>
      <h2>Latest repairs</h2>
      <ErrorLine error={repairs.error} />
      <LoadedTable what="repairs" items={repairs.data?.events} caption="Repairs, newest first" empty="No repair yet." head={REPAIR_HEAD}>
        {(e) => (
          <tr data-repair={e.id}>
            <td>{fmtTime(e.at)}</td>
            <td>
              {e.service ?? '—'} <span class="muted">#{e.processId ?? '—'}</span>
            </td>
            <td>{e.hostId ?? '—'}</td>
            <td>
              <State value={e.outcome ?? 'unknown'} /> <span class="muted">{e.strategy ?? ''}</span>
            </td>
            <td>{fmtMs(e.durationMs)}</td>
            <td>
              <div>{e.message}</div>
              {e.processId !== null && notes.get(e.processId) ? (
                <div class="muted">
                  notes: <span class="repair-note">{notes.get(e.processId)}</span>
                </div>
              ) : null}
              <details>
                <summary>steps</summary>
                <Steps steps={e.detail?.steps} />
                {e.detail?.redacted || (Array.isArray(e.detail?.steps) && e.detail.steps.some((s: any) => s.redacted)) ? (
                  <p class="muted">Command lines and output are shown to operators only.</p>
                ) : null}
              </details>
            </td>
          </tr>
        )}
      </LoadedTable>
    </section>
  );
}
