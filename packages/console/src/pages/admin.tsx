import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction, useLoad } from '../hooks.js';
import { ErrorLine, LoadedTable, State, fmtTime } from '../ui.js';

/** Column headings of the page's tables. */
const AUDIT_HEAD = ['When', 'Token', 'Role', 'Action', 'Target', 'Outcome', 'Status'];
const TOKEN_HEAD = ['Name', 'Role', 'Created', 'Expires', 'Last used', 'State', 'Action'];

/** Audit: every change attempted through the API (admin). */
export function AuditPage() {
  const audit = useLoad<{ audit: any[] }>('/v1/audit?limit=100', ['rollouts', 'operations', 'alarms']);
  return (
    <section aria-labelledby="audit-h">
      <h1 id="audit-h">Audit</h1>
      <ErrorLine error={audit.error} />
      <LoadedTable what="the audit trail" items={audit.data?.audit} caption="Changes, newest first" empty="No change yet." head={AUDIT_HEAD}>
        {(a) => (
          <tr>
            <td>{fmtTime(a.at)}</td>
            <td>{a.tokenName ?? '—'}</td>
            <td>{a.role ?? '—'}</td>
            <td>{a.action}</td>
            <td>
              <code>{a.target}</code>
            </td>
            <td>
              <State value={a.outcome} />
            </td>
            <td>{a.statusCode}</td>
          </tr>
        )}
      </LoadedTable>
    </section>
  );
}

/** Tokens: list, create (the secret is shown once), revoke (admin). */
export function TokensPage() {
  const tokens = useLoad<{ tokens: any[] }>('/v1/tokens', []);
  const act = useAction();
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const create = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const r = await api<any>('POST', '/v1/tokens', { name: name.trim(), role });
      setCreated({ name: r.name ?? name, token: r.token });
      setName('');
      tokens.reload();
    });
  };
  const revoke = (n: string) =>
    act.run(async () => {
      if (!window.confirm(`Revoke token ${n}? Everything using it stops working at once.`)) return;
      await api('DELETE', `/v1/tokens/${encodeURIComponent(n)}`);
      tokens.reload();
    });
  return (
    <section aria-labelledby="tokens-h">
      <h1 id="tokens-h">API tokens</h1>
      <form class="grid" onSubmit={create} aria-labelledby="new-token-h">
        <h2 id="new-token-h" style="grid-column:1/-1;margin:0">
          New token
        </h2>
        <label>
          Name
          <input
            name="name"
            required
            value={name}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
            autocomplete="off"
            pattern="^[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}$"
          />
        </label>
        <label>
          Role
          <select name="role" value={role} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value)}>
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <div>
          <button type="submit" disabled={act.busy}>
            Create token
          </button>
        </div>
      </form>
      <ErrorLine error={tokens.error ?? act.error} />
      {created ? (
        <div class="notice" role="status">
          Token <strong>{created.name}</strong> — copy it now, it is not shown again:
          <pre>{created.token}</pre>
          <button type="button" class="secondary" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      ) : null}
      <LoadedTable what="tokens" items={tokens.data?.tokens} caption="Tokens" empty="No token." head={TOKEN_HEAD}>
        {(t) => (
          <tr>
            <th scope="row">{t.name}</th>
            <td>{t.role}</td>
            <td>
              {fmtTime(t.createdAt)} <span class="muted">by {t.createdBy}</span>
            </td>
            <td>{t.expiresAt ? fmtTime(t.expiresAt) : 'never'}</td>
            <td>{fmtTime(t.lastUsedAt)}</td>
            <td>{t.revokedAt ? <State value="revoked" /> : <State value="ok" />}</td>
            <td>
              {t.revokedAt ? null : (
                <button type="button" class="danger" disabled={act.busy} onClick={() => void revoke(t.name)} aria-label={`Revoke token ${t.name}`}>
                  Revoke
                </button>
              )}
            </td>
          </tr>
        )}
      </LoadedTable>
    </section>
  );
}
