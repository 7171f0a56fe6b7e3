import { RE2JS } from 're2js';
import { isIP } from 'node:net';
import type { ConfigErrorDetail } from '../errors/index.js';
import { ConfigError } from '../errors/index.js';
import { parseCommand } from '../command/index.js';
import type { LogRuleConfig, ReceiverConfig, RouteConfig, ServiceAction } from './config-types.js';
import { parseLabels } from './formats.js';
import {
  NOTIFY_EVENTS,
  SECTION_NAME,
  type LogRuleAction,
  type NamedPrefix,
  type NotifyEvent,
  type ReceiverType,
  type Severity,
  type SmtpSecurity,
} from './named-schema.js';
import type { Values } from './setting.js';

/** Where a key of a section was set (its line, else the section header). */
export type Locate = (key: string) => { file: string; line?: number };

/** One validated named section. */
export interface NamedSection {
  readonly name: string;
  readonly values: Values;
  readonly where: Locate;
}

const ACTION_ENTRY = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63}):\s*(\S.*)$/s;

/** `action[] = NAME: command` entries → named argv commands; every bad entry is a detail. */
export function parseActions(value: unknown, where: { file: string; key: string; line?: number }): ServiceAction[] {
  const entries = Array.isArray(value) ? value : [];
  const out: ServiceAction[] = [];
  const details: ConfigErrorDetail[] = [];
  const at = where.line === undefined ? { file: where.file } : { file: where.file, line: where.line };
  for (const entry of entries) {
    if (typeof entry !== 'string') continue;
    const m = ACTION_ENTRY.exec(entry.trim());
    if (!m) {
      details.push({ ...at, key: where.key, value: entry, rule: 'must be written action[] = NAME: command (NAME: letters, digits, . _ -, up to 64)' });
      continue;
    }
    const name = m[1]!;
    if (out.some((a) => a.name === name)) {
      details.push({ ...at, key: where.key, value: entry, rule: `action ${name} is defined twice` });
      continue;
    }
    try {
      out.push({ name, command: parseCommand(m[2]!, { file: where.file, key: where.key }) });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      details.push(...err.details.map((d) => ({ ...d, ...at })));
    }
  }
  if (details.length > 0) throw new ConfigError(details);
  return out;
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** Compiles an RE2 expression; the error text when it is not one. */
export function re2Problem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return `is not a valid RE2 expression: ${(err as Error).message}`;
  }
}

/**
 * The typed [receiver.NAME], [route.NAME] and [log_rule.NAME] sections, with
 * the rules that span keys and sections (a webhook needs its secret, a route
 * names existing receivers, a log rule an existing process). Problems go to
 * `details`, each naming file:line and key.
 */
export function toNamedConfig(
  named: ReadonlyMap<NamedPrefix, readonly NamedSection[]>,
  processNames: ReadonlySet<string>,
  details: ConfigErrorDetail[],
): { receivers: ReceiverConfig[]; routes: RouteConfig[]; logRules: LogRuleConfig[] } {
  const problem = (prefix: string, s: NamedSection, key: string, rule: string, value?: unknown) =>
    details.push({ ...s.where(key), key: `${prefix}.${s.name}.${key}`, ...(value === undefined ? {} : { value }), rule });
  for (const [prefix, sections] of named) {
    for (const s of sections) {
      if (!SECTION_NAME.test(s.name)) problem(prefix, s, '(name)', 'a section name must be 1 to 64 letters, digits, . _ - (starting with a letter or digit)');
    }
  }

  const receivers: ReceiverConfig[] = [];
  for (const s of named.get('receiver') ?? []) {
    const v = s.values;
    const type = v['type'] as ReceiverType | '';
    const plaintextOk = v['allow_plaintext'] === true;
    if (type === '') problem('receiver', s, 'type', 'is required: webhook, slack or email');
    if (type === 'webhook' || type === 'slack') {
      const url = v['url'] as string;
      if (url === '') problem('receiver', s, 'url', `is required for type = ${type}`);
      else {
        let parsed: URL | undefined;
        try {
          parsed = new URL(url);
        } catch {
          problem('receiver', s, 'url', 'is not a URL (https://host/path)');
        }
        if (parsed && parsed.protocol !== 'https:' && parsed.protocol !== 'http:') problem('receiver', s, 'url', 'must start with https:// (or http://)');
        if (parsed && parsed.protocol === 'http:' && !plaintextOk && !isLoopbackHost(parsed.hostname)) {
          problem('receiver', s, 'url', 'http:// to a host that is not loopback sends alerts in clear; use https:// or set allow_plaintext = true');
        }
      }
      if (type === 'webhook' && v['secret'] === '')
        problem('receiver', s, 'secret', 'is required for type = webhook (the receiver checks the X-Smgr-Signature made with it)');
    }
    if (type === 'email') {
      for (const key of ['smtp_host', 'from', 'to']) if (v[key] === '') problem('receiver', s, key, 'is required for type = email');
      if (v['smtp_security'] === 'none' && !plaintextOk && v['smtp_host'] !== '' && !isLoopbackHost(v['smtp_host'] as string)) {
        problem(
          'receiver',
          s,
          'smtp_security',
          'none to a host that is not loopback sends mail and password in clear; use starttls or tls, or set allow_plaintext = true',
        );
      }
    }
    receivers.push({
      name: s.name,
      type: type === '' ? 'webhook' : type,
      url: v['url'] as string,
      secret: v['secret'] as string,
      timeoutMs: Math.round((v['timeout'] as number) * 1000),
      smtp: {
        host: v['smtp_host'] as string,
        port: v['smtp_port'] as number,
        security: v['smtp_security'] as SmtpSecurity,
        user: v['smtp_user'] as string,
        password: v['smtp_password'] as string,
        ca: v['smtp_ca'] as string,
      },
      from: v['from'] as string,
      to: commaList(v['to'] as string),
    });
  }

  const receiverNames = new Set(receivers.map((r) => r.name));
  const routes: RouteConfig[] = [];
  for (const s of named.get('route') ?? []) {
    const v = s.values;
    const names = commaList(v['receiver'] as string);
    if (names.length === 0) problem('route', s, 'receiver', 'is required: the [receiver.NAME] sections this route sends to');
    for (const n of names) {
      if (!receiverNames.has(n)) problem('route', s, 'receiver', `names no [receiver.${n}] section`, v['receiver']);
    }
    const eventText = (v['events'] as string).trim();
    let events: NotifyEvent[] | undefined;
    if (eventText !== '*') {
      events = [];
      for (const e of commaList(eventText)) {
        if ((NOTIFY_EVENTS as readonly string[]).includes(e)) events.push(e as NotifyEvent);
        else problem('route', s, 'events', `unknown event ${e}; events are * or ${NOTIFY_EVENTS.join(', ')}`, v['events']);
      }
    }
    const serviceText = (v['services'] as string).trim();
    routes.push({
      name: s.name,
      receivers: names,
      events,
      services: serviceText === '*' || serviceText === '' ? undefined : commaList(serviceText),
      labels: parseLabels(v['labels'] as string) ?? {},
      minSeverity: v['min_severity'] as Severity,
      requireSound: v['require_sound'] === true,
    });
  }

  const logRules: LogRuleConfig[] = [];
  for (const s of named.get('log_rule') ?? []) {
    const v = s.values;
    const proc = v['process'] as string;
    if (proc === '') problem('log_rule', s, 'process', 'is required: the [process.NAME] whose log this rule watches');
    else if (!processNames.has(proc)) problem('log_rule', s, 'process', `names no [process.${proc}] section`, proc);
    const files = v['file'] as string[];
    if (files.length === 0) problem('log_rule', s, 'file', 'is required: file[] = /path/to/log lines');
    for (const f of files) if (!f.startsWith('/')) problem('log_rule', s, 'file', 'must be an absolute path', f);
    const pattern = v['pattern'] as string;
    if (pattern === '') problem('log_rule', s, 'pattern', 'is required: a regular expression (RE2 syntax)');
    else {
      const p = re2Problem(pattern);
      if (p) problem('log_rule', s, 'pattern', p, pattern);
    }
    for (const r of v['redact'] as string[]) {
      const p = re2Problem(r);
      if (p) problem('log_rule', s, 'redact', p, r);
    }
    logRules.push({
      name: s.name,
      process: proc,
      files,
      pattern,
      count: v['count'] as number,
      windowMs: Math.round((v['window'] as number) * 1000),
      onMatch: v['on_match'] as LogRuleAction,
      severity: v['severity'] as Severity,
      redact: v['redact'] as string[],
      maxLineBytes: v['max_line'] as number,
    });
  }
  return { receivers, routes, logRules };
}
