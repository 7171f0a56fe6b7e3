import http from 'node:http';
import https from 'node:https';
import { ExitCode } from '@smgr/shared';
import { CliError } from './cli-error.js';
import type { CliSettings } from './cli-config.js';

/** An error body of the smgr API. */
interface ApiErrorBody {
  error?: string;
  message?: string;
  fields?: { in: string; field: string; message: string }[];
}

/** A query parameter: left out when undefined, '' or false; a list repeats the parameter once per item. */
export type QueryValue = string | number | boolean | readonly string[] | undefined;

/** `path?k=v&…` with the parameters that are set, or `path` alone when none is (URL-encoded). */
export function withQuery(path: string, params: Record<string, QueryValue>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (Array.isArray(value)) for (const v of value) q.append(key, v);
    else if (value !== undefined && value !== '' && value !== false) q.set(key, String(value));
  }
  return q.size > 0 ? `${path}?${q}` : path;
}

/** Errors meaning "the controller cannot be reached" (exit 69). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/**
 * The smgr HTTP API over node:http/https (so a private CA can be trusted
 * with --ca). Failures become CliErrors with the exit codes of docs/architecture.md: 2 for a
 * request the API calls invalid (400 malformed, 422 cannot be done as asked), 69 when the controller cannot be reached
 * or answers 503, 78 for a missing or refused token, 1 otherwise.
 */
export class ApiClient {
  constructor(
    private readonly settings: CliSettings,
    private readonly timeoutMs = 30_000,
  ) {}

  get url(): string {
    return this.settings.url.origin;
  }

  get<T>(path: string, timeoutMs?: number): Promise<T> {
    return this.request<T>('GET', path, undefined, timeoutMs);
  }

  post<T>(path: string, body: unknown = {}, timeoutMs?: number): Promise<T> {
    return this.request<T>('POST', path, body, timeoutMs);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const token = this.settings.token;
    if (token === undefined && path !== '/healthz') {
      throw new CliError(
        ExitCode.CONFIG,
        'no API token configured',
        'pass --token-file FILE, set SMGR_CLI_TOKEN or SMGR_CLI_TOKEN_FILE, or put token_file in ~/.config/smgr/cli.ini',
      );
    }
    const { status, text } = await this.send(method, path, body, token, timeoutMs);
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (status >= 200 && status < 300) {
      if (parsed === undefined) throw new CliError(ExitCode.FAILURE, `the API answered ${method} ${path} with something that is not JSON`);
      return parsed as T;
    }
    const err = (parsed ?? {}) as ApiErrorBody;
    const message = err.message ?? `HTTP ${status}`;
    switch (true) {
      case status === 400 || status === 422:
        throw new CliError(ExitCode.USAGE, `invalid request: ${message}`);
      case status === 401:
        throw new CliError(ExitCode.CONFIG, `the API refused the token (${this.settings.tokenSource}): ${message}`);
      case status === 403:
        throw new CliError(ExitCode.FAILURE, `not allowed: ${message}`);
      case status === 503:
        throw new CliError(ExitCode.UNAVAILABLE, `controller unavailable: ${message}`);
      default:
        throw new CliError(ExitCode.FAILURE, message, err.error ? `(${err.error}, HTTP ${status})` : `(HTTP ${status})`);
    }
  }

  private send(method: string, path: string, body: unknown, token: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
    const url = new URL(path, this.settings.url);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    const isHttps = url.protocol === 'https:';
    const opts: https.RequestOptions = {
      method,
      headers,
      timeout: timeoutMs,
      ...(isHttps && this.settings.ca ? { ca: this.settings.ca } : {}),
    };
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(this.transportError(err)));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => reject(this.transportError(err)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  private transportError(err: Error): CliError {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const where = this.settings.url.origin;
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) {
      return new CliError(ExitCode.UNAVAILABLE, `TLS with ${where} failed: ${err.message} (${code})`, "trust the controller's CA with --ca FILE (SMGR_CLI_CA)");
    }
    if (code === 'EPROTO' || /wrong version number|packet length too long/.test(err.message)) {
      return new CliError(ExitCode.UNAVAILABLE, `TLS with ${where} failed: ${err.message}`, 'is the API plain HTTP (api.insecure)? then use an http:// URL');
    }
    if (UNREACHABLE.has(code)) return new CliError(ExitCode.UNAVAILABLE, `cannot reach the controller API at ${where}: ${err.message}`);
    return new CliError(ExitCode.UNAVAILABLE, `request to ${where} failed: ${err.message}`);
  }
}
