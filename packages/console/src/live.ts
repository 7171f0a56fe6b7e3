/**
 * One EventSource on /ui/events for the whole page. The browser reconnects
 * by itself and sends Last-Event-ID; the controller replays what was missed,
 * or sends `reset` when it cannot (then every page reloads its data).
 */
export type Topic = 'alarms' | 'history' | 'hosts' | 'rollouts' | 'operations' | 'reset';
type Listener = (topic: Topic, data: any) => void;

const TOPICS: Topic[] = ['alarms', 'history', 'hosts', 'rollouts', 'operations', 'reset'];
const listeners = new Set<Listener>();
const statusListeners = new Set<(s: LiveStatus) => void>();
let source: EventSource | null = null;
export type LiveStatus = 'connecting' | 'live' | 'reconnecting';
let status: LiveStatus = 'connecting';
let lastId = '';

function setStatus(s: LiveStatus): void {
  status = s;
  for (const l of statusListeners) l(s);
}

export function startLive(): void {
  if (source !== null) return;
  source = new EventSource('/ui/events');
  let opened = false;
  source.onopen = () => {
    setStatus('live');
    // Pages loaded before the stream was open may have missed a change: reload once. Reconnects resume instead.
    if (!opened) for (const l of listeners) l('reset', {});
    opened = true;
  };
  source.onerror = () => setStatus(source?.readyState === EventSource.CLOSED ? 'connecting' : 'reconnecting');
  for (const t of TOPICS) {
    source.addEventListener(t, (ev) => {
      const m = ev as MessageEvent<string>;
      lastId = m.lastEventId;
      let data: unknown = null;
      try {
        data = JSON.parse(m.data);
      } catch {
        return;
      }
      for (const l of listeners) l(t, data);
    });
  }
}

export function stopLive(): void {
  source?.close();
  source = null;
  setStatus('connecting');
}

export function onLive(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function onLiveStatus(l: (s: LiveStatus) => void): () => void {
  statusListeners.add(l);
  l(status);
  return () => statusListeners.delete(l);
}

/** The id of the last event seen (shown for support; the browser keeps its own for resuming). */
export const lastEventId = (): string => lastId;
