import { useState } from 'preact/hooks';
import { api, roleAtLeast, type Session } from '../api.js';
import { useAction, useLoad } from '../hooks.js';
import { ErrorLine, LoadedTable, Loading, State, Table, fmtTime } from '../ui.js';

/** Column headings of the page's tables. */
const ROLLOUT_HEAD = ['Id', 'Service', 'Version', 'State', 'Batch', 'Hosts', 'Started by', 'Updated'];

const ACTIVE = new Set(['running', 'awaiting_promotion', 'paused', 'rolling_back']);

/** The commands each rollout state allows (the controller's rollout machine; it refuses the rest with 409 anyway). */
const COMMAND_FROM: Record<string, string[]> = {
  promote: ['awaiting_promotion'],
  pause: ['running', 'awaiting_promotion', 'rolling_back'],
  resume: ['paused'],
  abort: ['running', 'awaiting_promotion', 'paused', 'halted', 'rolling_back'],
  rollback: ['running', 'awaiting_promotion', 'paused', 'halted', 'succeeded', 'aborted', 'rollback_failed'],
};
const commandsFor = (state: string): string[] => Object.keys(COMMAND_FROM).filter((c) => COMMAND_FROM[c]!.includes(state));

/** Rollouts: the list, and a form to start one (operators). */
export function RolloutsPage({ session }: { session: Session }) {
  const list = useLoad<{ rollouts: any[] }>('/v1/rollouts?limit=30', ['rollouts']);
  const canChange = roleAtLeast(session.role, 'operator');
  return (
    <section aria-labelledby="rollouts-h">
      <h1 id="rollouts-h">Rollouts</h1>
      {canChange ? <StartRollout /> : null}
      <ErrorLine error={list.error} />
      <LoadedTable what="rollouts" items={list.data?.rollouts} caption="Rollouts, newest first" empty="No rollout yet." head={ROLLOUT_HEAD}>
        {(r) => (
          <tr>
            <th scope="row">
              <a href={`#/rollouts/${r.id}`}>#{r.id}</a>
            </th>
            <td>{r.service}</td>
            <td>{r.version}</td>
            <td>
              <State value={r.state} />
            </td>
            <td>{ACTIVE.has(r.state) ? `${r.currentBatch + 1} of ${r.batches}` : `${r.batches} batch(es)`}</td>
            <td>
              {Object.entries(r.hostCounts ?? {})
                .map(([k, v]) => `${String(v)} ${k}`)
                .join(', ')}
            </td>
            <td>{r.createdBy}</td>
            <td>{fmtTime(r.updatedAt)}</td>
          </tr>
        )}
      </LoadedTable>
    </section>
  );
}

function StartRollout() {
  const act = useAction();
  const [f, setF] = useState({
    service: '',
    version: '',
    hosts: '',
    labels: '',
    canary: '0',
    batchSize: '1',
    maxFailures: '0',
    minHealthy: '10',
    deadline: '120',
    probe: '1',
    autoPromote: false,
    autoRollback: false,
  });
  const set = (k: keyof typeof f) => (e: Event) => {
    const t = e.currentTarget as HTMLInputElement;
    setF({ ...f, [k]: t.type === 'checkbox' ? t.checked : t.value });
  };
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const hosts = f.hosts.split(/[\s,]+/).filter((h) => h !== '');
      const labels = Object.fromEntries(
        f.labels
          .split(/[\s,]+/)
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      const countOrPct = (v: string) => (v.endsWith('%') ? v : Number(v));
      const r = await api<any>('POST', '/v1/rollouts', {
        service: f.service.trim(),
        version: f.version.trim(),
        ...(hosts.length > 0 ? { hosts } : {}),
        ...(Object.keys(labels).length > 0 ? { labels } : {}),
        canary: Number(f.canary),
        batchSize: countOrPct(f.batchSize),
        maxFailures: countOrPct(f.maxFailures),
        minHealthySeconds: Number(f.minHealthy),
        healthyDeadlineSeconds: Number(f.deadline),
        probeIntervalSeconds: Number(f.probe),
        autoPromote: f.autoPromote,
        autoRollback: f.autoRollback,
      });
      location.hash = `#/rollouts/${r.id}`;
    });
  };
  return (
    <form class="grid" onSubmit={submit} aria-labelledby="start-rollout-h">
      <h2 id="start-rollout-h" style="grid-column:1/-1;margin:0">
        Start a rollout
      </h2>
      <label>
        Service
        <input name="service" required value={f.service} onInput={set('service')} autocomplete="off" />
      </label>
      <label>
        Version
        <input name="version" required value={f.version} onInput={set('version')} autocomplete="off" />
      </label>
      <label>
        Hosts (comma-separated, in order; empty: every host)
        <input name="hosts" value={f.hosts} onInput={set('hosts')} autocomplete="off" />
      </label>
      <label>
        Labels (k=v, comma-separated)
        <input name="labels" value={f.labels} onInput={set('labels')} autocomplete="off" />
      </label>
      <label>
        Canary hosts
        <input name="canary" type="number" min="0" value={f.canary} onInput={set('canary')} />
      </label>
      <label>
        Batch size (count or %)
        <input name="batchSize" value={f.batchSize} onInput={set('batchSize')} pattern="^[0-9]+%?$" />
      </label>
      <label>
        Failures tolerated (count or %)
        <input name="maxFailures" value={f.maxFailures} onInput={set('maxFailures')} pattern="^[0-9]+%?$" />
      </label>
      <label>
        Healthy for (s)
        <input name="minHealthy" type="number" min="0" step="any" value={f.minHealthy} onInput={set('minHealthy')} />
      </label>
      <label>
        Healthy deadline (s)
        <input name="deadline" type="number" min="0.1" step="any" value={f.deadline} onInput={set('deadline')} />
      </label>
      <label>
        Probe every (s)
        <input name="probe" type="number" min="0.05" step="any" value={f.probe} onInput={set('probe')} />
      </label>
      <label class="check">
        <input name="autoPromote" type="checkbox" checked={f.autoPromote} onChange={set('autoPromote')} /> Promote after healthy canaries
      </label>
      <label class="check">
        <input name="autoRollback" type="checkbox" checked={f.autoRollback} onChange={set('autoRollback')} /> Roll back on halt
      </label>
      <div>
        <button type="submit" disabled={act.busy}>
          Start rollout
        </button>
      </div>
      <div style="grid-column:1/-1">
        <ErrorLine error={act.error} />
      </div>
    </form>
  );
}

/** One rollout, live: its batches, each host's state and versions, a failed host's step and output; the buttons its state allows. */
export function RolloutPage({ id, session }: { id: string; session: Session }) {
  const r = useLoad<any>(`/v1/rollouts/${encodeURIComponent(id)}`, ['rollouts']);
  const act = useAction();
  const canChange = roleAtLeast(session.role, 'operator');
  const ro = r.data;
  const command = (c: string) =>
    act.run(async () => {
      await api('POST', `/v1/rollouts/${encodeURIComponent(id)}/${c}`, {});
      r.reload();
    });
  const batches: any[][] = [];
  for (const h of ro?.hosts ?? []) (batches[h.batch] ??= []).push(h);
  return (
    <section aria-labelledby="rollout-h">
      <p>
        <a href="#/rollouts">← Rollouts</a>
      </p>
      <h1 id="rollout-h">
        Rollout #{id}
        {ro ? ` — ${ro.service} ${ro.version}` : ''}
      </h1>
      <ErrorLine error={r.error ?? act.error} />
      {ro === null ? (
        <Loading what="the rollout" />
      ) : (
        <>
          <p aria-live="polite">
            <span data-rollout-state={ro.state}>
              <State value={ro.state} />
            </span>{' '}
            {ro.message}
            {ro.state === 'awaiting_promotion' ? ' — canaries healthy: promote to continue.' : ''}
          </p>
          <p class="muted">
            Started by {ro.createdBy} at {fmtTime(ro.createdAt)}; batch size {String(ro.spec.batchSize)}, canary {ro.spec.canary}, failures tolerated{' '}
            {String(ro.spec.maxFailures)}
            {ro.spec.autoRollback ? ', rolls back on halt' : ''}.
          </p>
          {canChange ? (
            <div class="actions" role="group" aria-label="Rollout commands">
              {commandsFor(ro.state).map((c) => (
                <button type="button" class={c === 'abort' || c === 'rollback' ? 'danger' : ''} disabled={act.busy} onClick={() => void command(c)}>
                  {c[0]!.toUpperCase() + c.slice(1)}
                </button>
              ))}
            </div>
          ) : null}
          {batches.map((hosts, b) => (
            <div class="batch" data-batch={b + 1}>
              <h2 style="font-size:1rem;margin:0 0 .4rem">
                Batch {b + 1}
                {ro.spec.canary > 0 && b === 0 ? ' (canary)' : ''}
                {b === ro.currentBatch && ['running', 'awaiting_promotion', 'paused'].includes(ro.state) ? ' — current' : ''}
              </h2>
              <Table caption={`Hosts of batch ${b + 1}`} head={['Host', 'State', 'Before', 'Now', 'Message']}>
                {hosts.map((h) => (
                  <tr data-rollout-host={h.hostId} data-state={h.state}>
                    <th scope="row">{h.hostId}</th>
                    <td>
                      <State value={h.state} />
                    </td>
                    <td>{h.previousVersion ?? '—'}</td>
                    <td>{h.currentVersion ?? '—'}</td>
                    <td>
                      {h.message}
                      {h.failure ? (
                        <div class="failure">
                          <div class="bad">
                            {h.failure.job} step <strong>{h.failure.step}</strong> exited {h.failure.exitCode}
                          </div>
                          {h.failure.outputTail ? <pre aria-label={`output of ${h.failure.step} on ${h.hostId}`}>{h.failure.outputTail}</pre> : null}
                        </div>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </Table>
            </div>
          ))}
        </>
      )}
    </section>
  );
}
