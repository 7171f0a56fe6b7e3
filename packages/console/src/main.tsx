import { render, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, roleAtLeast, setCsrf, whenSignedOut, type Session } from './api.js';
import { onLiveStatus, startLive, stopLive, type LiveStatus } from './live.js';
import { ErrorLine } from './ui.js';
import { FleetPage } from './pages/fleet.js';
import { AlarmsPage } from './pages/alarms.js';
import { RolloutPage, RolloutsPage } from './pages/rollouts.js';
import { OperationPage, OperationsPage } from './pages/operations.js';
import { ServicePage } from './pages/service.js';
import { AuditPage, TokensPage } from './pages/admin.js';

/** The page a location hash names: #/fleet, #/alarms, #/service/NAME, #/rollouts[/ID], #/operations[/ID], #/audit, #/tokens. */
function parseRoute(hash: string): string[] {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return parts.length === 0 ? ['fleet'] : parts;
}

const NAV: { page: string; label: string; role: Session['role'] }[] = [
  { page: 'fleet', label: 'Fleet', role: 'viewer' },
  { page: 'alarms', label: 'Alarms', role: 'viewer' },
  { page: 'rollouts', label: 'Rollouts', role: 'viewer' },
  { page: 'operations', label: 'Operations', role: 'viewer' },
  { page: 'audit', label: 'Audit', role: 'admin' },
  { page: 'tokens', label: 'Tokens', role: 'admin' },
];

function useRoute(): string[] {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

function SignIn({ onSignedIn, reason }: { onSignedIn: (s: Session) => void; reason: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await api<Session>('POST', '/ui/session', { token: token.trim() });
      setToken('');
      onSignedIn(s);
    } catch (err) {
      setError(
        err instanceof ApiFailure && err.status === 401 ? 'That token is unknown, revoked or expired.' : String(err instanceof Error ? err.message : err),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>smgr console</h1>
      {reason ? (
        <p class="notice" role="status">
          {reason}
        </p>
      ) : null}
      <form onSubmit={submit}>
        <label>
          API token
          <input
            type="password"
            name="token"
            autocomplete="off"
            required
            value={token}
            onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
            aria-describedby="token-help"
          />
        </label>
        <p id="token-help" class="muted">
          A token from <code>smgr token create</code> (or <code>smgr-controller token create</code> on the controller host). It is traded for a session cookie
          and not kept by the browser.
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <ErrorLine error={error} />
      </form>
    </main>
  );
}

function LiveBadge() {
  const [s, setS] = useState<LiveStatus>('connecting');
  useEffect(() => onLiveStatus(setS), []);
  return (
    <span class={`live ${s === 'live' ? 'ok' : 'warn'}`} role="status" aria-label={`live updates: ${s}`}>
      ● {s}
    </span>
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const page = route[0]!;
  const allowed = (p: string) => NAV.find((n) => n.page === p)?.role ?? 'viewer';
  let body: ComponentChildren;
  if (!roleAtLeast(session.role, allowed(page)))
    body = (
      <p class="error">
        This page needs the {allowed(page)} role; you are {session.role}.
      </p>
    );
  else if (page === 'fleet') body = <FleetPage />;
  else if (page === 'alarms') body = <AlarmsPage session={session} />;
  else if (page === 'rollouts' && route[1]) body = <RolloutPage id={route[1]} session={session} />;
  else if (page === 'rollouts') body = <RolloutsPage session={session} />;
  else if (page === 'operations' && route[1]) body = <OperationPage id={route[1]} />;
  else if (page === 'operations') body = <OperationsPage session={session} />;
  else if (page === 'service' && route[1]) body = <ServicePage name={route[1]} session={session} />;
  else if (page === 'audit') body = <AuditPage />;
  else if (page === 'tokens') body = <TokensPage />;
  else body = <p class="error">No page {route.join('/')}.</p>;
  useEffect(() => {
    const label = NAV.find((n) => n.page === page)?.label ?? (page === 'service' ? `Service ${route[1] ?? ''}` : page);
    document.title = `${label} — smgr console`;
  }, [route.join('/')]);
  return (
    <>
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link to #main that also moves focus there */}
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <span class="brand">smgr</span>
        <nav aria-label="Pages">
          <ul>
            {NAV.filter((n) => roleAtLeast(session.role, n.role)).map((n) => (
              <li>
                <a href={`#/${n.page}`} aria-current={page === n.page ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <LiveBadge />
          <span>
            {session.name} <span class="badge">{session.role}</span>
          </span>
          <button type="button" class="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [reason, setReason] = useState<string | null>(null);
  const signedIn = (s: Session) => {
    setCsrf(s.csrf);
    setSession(s);
    setReason(null);
    startLive();
  };
  useEffect(() => {
    whenSignedOut(() => {
      stopLive();
      setCsrf(null);
      setSession(null);
      setReason('Your session has ended (expired, signed out, or its token was revoked). Sign in again.');
    });
    api<Session>('GET', '/ui/session')
      .then(signedIn)
      .catch(() => setSession(null));
  }, []);
  const signOut = async () => {
    try {
      await api('DELETE', '/ui/session');
    } catch {
      // Already gone: signed out either way.
    }
    stopLive();
    setCsrf(null);
    setSession(null);
    setReason('Signed out.');
  };
  if (session === undefined)
    return (
      <main id="main">
        <p class="muted">Loading…</p>
      </main>
    );
  if (session === null) return <SignIn onSignedIn={signedIn} reason={reason} />;
  return <Shell session={session} onSignOut={() => void signOut()} />;
}

render(<App />, document.getElementById('app')!);
