import { useState } from 'preact/hooks';
import { api, roleAtLeast, type Session } from '../api.js';
import { useAction, useLoad } from '../hooks.js';
import { ErrorLine, LoadedTable, Loading, State, Table, fmtMs, fmtTime } from '../ui.js';

/** Column headings of the page's tables. */
const OPERATION_HEAD = ['Id', 'Operation', 'Service', 'State', 'Hosts', 'By', 'Started'];

const OPERATIONS = ['restart', 'start', 'stop', 'status', 'update'];

/** Operations: start one on a selection of hosts (operators); the latest ones. */
export function OperationsPage({ session }: { session: Session }) {
  const recent = useLoad<{ operations: any[] }>('/ui/api/overview', ['operations']);
  const canChange = roleAtLeast(session.role, 'operator');
  return (
    <section aria-labelledby="ops-h">
      <h1 id="ops-h">Operations</h1>
      {canChange ? <StartOperation /> : null}
      <ErrorLine error={recent.error} />
      <LoadedTable what="operations" items={recent.data?.operations} caption="Latest operations" empty="No operation yet." head={OPERATION_HEAD}>
        {(o) => (
          <tr>
            <th scope="row">
              <a href={`#/operations/${o.id}`}>{o.id}</a>
            </th>
            <td>
              {o.operation}
              {o.version ? ` ${o.version}` : ''}
            </td>
            <td>{o.service}</td>
            <td>
              <State value={o.state} />
            </td>
            <td>{o.hosts}</td>
            <td>{o.createdBy}</td>
            <td>{fmtTime(o.createdAt)}</td>
          </tr>
        )}
      </LoadedTable>
    </section>
  );
}

/** The form: operation, service, then the hosts managing it as checkboxes (none ticked: all of them). */
export function StartOperation({ service: fixed }: { service?: string }) {
  const act = useAction();
  const [operation, setOperation] = useState('restart');
  const [service, setService] = useState(fixed ?? '');
  const [version, setVersion] = useState('');
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const hosts = useLoad<{ hosts: any[] }>(service.trim() === '' ? null : `/v1/hosts?service=${encodeURIComponent(service.trim())}`, ['hosts']);
  const toggle = (h: string) => {
    const next = new Set(picked);
    if (next.has(h)) next.delete(h);
    else next.add(h);
    setPicked(next);
  };
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const op = await api<any>('POST', '/v1/operations', {
        operation,
        service: service.trim(),
        ...(picked.size > 0 ? { hosts: [...picked] } : {}),
        ...(operation === 'update' ? { version: version.trim() } : {}),
      });
      location.hash = `#/operations/${op.id}`;
    });
  };
  return (
    <form class="grid" onSubmit={submit} aria-labelledby="start-op-h">
      <h2 id="start-op-h" style="grid-column:1/-1;margin:0">
        Run an operation{fixed ? ` on ${fixed}` : ''}
      </h2>
      <label>
        Operation
        <select name="operation" value={operation} onChange={(e) => setOperation((e.currentTarget as HTMLSelectElement).value)}>
          {OPERATIONS.map((o) => (
            <option value={o}>{o}</option>
          ))}
        </select>
      </label>
      {fixed ? null : (
        <label>
          Service
          <input
            name="service"
            required
            value={service}
            onInput={(e) => {
              setService((e.currentTarget as HTMLInputElement).value);
              setPicked(new Set());
            }}
            autocomplete="off"
          />
        </label>
      )}
      {operation === 'update' ? (
        <label>
          Version
          <input name="version" required value={version} onInput={(e) => setVersion((e.currentTarget as HTMLInputElement).value)} autocomplete="off" />
        </label>
      ) : null}
      <fieldset style="grid-column:1/-1;border:1px solid var(--line);border-radius:5px">
        <legend>Hosts (none ticked: every host managing the service)</legend>
        <div class="chips">
          {(hosts.data?.hosts ?? []).map((h) => (
            <label class="check">
              <input type="checkbox" name="host" value={h.hostId} checked={picked.has(h.hostId)} onChange={() => toggle(h.hostId)} />
              {h.hostId}
              {h.connected ? '' : ' (disconnected)'}
            </label>
          ))}
          {service.trim() !== '' && hosts.data?.hosts.length === 0 ? <span class="muted">No host manages {service}.</span> : null}
        </div>
      </fieldset>
      <div>
        <button type="submit" disabled={act.busy}>
          Run {operation}
        </button>
      </div>
      <div style="grid-column:1/-1">
        <ErrorLine error={act.error} />
      </div>
    </form>
  );
}

/** One operation, live: each host's state as it finishes, a failing host's step, exit code and output. */
export function OperationPage({ id }: { id: string }) {
  const op = useLoad<any>(`/v1/operations/${encodeURIComponent(id)}`, ['operations']);
  const o = op.data;
  return (
    <section aria-labelledby="op-h">
      <p>
        <a href="#/operations">← Operations</a>
      </p>
      <h1 id="op-h">Operation {id}</h1>
      <ErrorLine error={op.error} />
      {o === null ? (
        <Loading what="the operation" />
      ) : (
        <>
          <p aria-live="polite">
            {o.operation} {o.service}
            {o.version ? ` ${o.version}` : ''}: <State value={o.state} />{' '}
            <span class="muted">
              {Object.entries(o.summary ?? {})
                .filter(([, n]) => Number(n) > 0)
                .map(([k, n]) => `${String(n)} ${k}`)
                .join(', ')}
            </span>
          </p>
          <Table caption="Hosts" head={['Host', 'State', 'Version', 'Duration', 'Message']}>
            {o.hosts.map((h: any) => (
              <tr data-op-host={h.hostId} data-state={h.state}>
                <th scope="row">{h.hostId}</th>
                <td>
                  <State value={h.state} />
                </td>
                <td>{h.version || '—'}</td>
                <td>{fmtMs(h.durationMs)}</td>
                <td>
                  {h.message}
                  {h.failure ? (
                    <>
                      <div class="bad">
                        step <strong>{h.failure.step}</strong> exited {h.failure.exitCode}
                      </div>
                      {h.failure.outputTail ? <pre>{h.failure.outputTail}</pre> : null}
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </section>
  );
}
