import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiFailure } from './api.js';
import { onLive, type Topic } from './live.js';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/**
 * Loads `path` and loads it again when one of `topics` arrives on the live
 * feed (or `reset`), at most once per 400 ms however many arrive.
 */
export function useLoad<T = any>(path: string | null, topics: Topic[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<number | null>(null);
  const seq = useRef(0);
  const load = useCallback(() => {
    if (path === null) return;
    const mine = ++seq.current;
    api<T>('GET', path)
      .then((d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (mine !== seq.current) return;
        setError(e instanceof ApiFailure ? `${e.status} ${e.message}` : String(e));
      });
  }, [path]);
  useEffect(() => {
    setData(null);
    load();
    const off = onLive((t) => {
      if (t !== 'reset' && !topics.includes(t)) return;
      if (timer.current !== null) return;
      timer.current = window.setTimeout(() => {
        timer.current = null;
        load();
      }, 400);
    });
    return () => {
      off();
      if (timer.current !== null) window.clearTimeout(timer.current);
      timer.current = null;
    };
  }, [load, topics.join(',')]);
  return { data, error, reload: load };
}

/** A change button's call: busy while it runs, its error kept to show. */
export function useAction(): { busy: boolean; error: string | null; run: (fn: () => Promise<unknown>) => Promise<void>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e instanceof ApiFailure ? `${e.status} ${e.code}: ${e.message}` : String(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}
