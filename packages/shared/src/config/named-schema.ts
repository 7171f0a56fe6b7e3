import { bool, choice, int, list, seconds, str, type KeySpec } from './key-spec.js';

/**
 * What a notification is about. Conditions (repair_failed, breaker_open,
 * alarm_unplaced, watch_alarm, agent_disconnected, cert_expiry, log_pattern)
 * fire and later resolve; rollout_* and test are one-off messages.
 */
export const NOTIFY_EVENTS = [
  'repair_failed',
  'breaker_open',
  'alarm_unplaced',
  'watch_alarm',
  'agent_disconnected',
  'rollout_halted',
  'rollout_rolled_back',
  'rollout_succeeded',
  'cert_expiry',
  'log_pattern',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** Severities, lowest first; a route's min_severity keeps its level and those after it. */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RECEIVER_TYPES = ['webhook', 'slack', 'email'] as const;
export type ReceiverType = (typeof RECEIVER_TYPES)[number];

export const SMTP_SECURITY = ['starttls', 'tls', 'none'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

export const LOG_RULE_ACTIONS = ['alarm', 'event'] as const;
export type LogRuleAction = (typeof LOG_RULE_ACTIONS)[number];

/** [notify]: how the controller groups and delivers notifications (routes and receivers are sections of their own). */
export const NOTIFY_SCHEMA: readonly KeySpec[] = [
  seconds('group_wait', 10, 'how long alerts of one group (receiver, event, host) are gathered before one message is sent', false),
  bool('send_resolved', true, 'send a resolve message when every alert of a notified group has cleared'),
  seconds('agent_down_after', 60, 'an agent disconnected this long raises agent_disconnected', true),
  int(
    'cert_warn_days',
    14,
    'cert_expiry fires when a controller certificate (tls.cert, tls.ca, api.cert) or the client certificate an agent presented at its last Hello expires within this many days',
    1,
  ),
  seconds('check_interval', 2, 'time between checks for new events, down agents and certificates', true),
  int('max_attempts', 8, 'delivery attempts of one message before it becomes a dead letter', 1, 100),
  seconds('retry_backoff', 5, 'delay before the second attempt; doubled for each further one', true),
  int('dead_letters_kept', 1000, 'dead letters (messages that could not be delivered) kept in Redis for GET /v1/notify/dead-letters', 1),
  int('max_alerts_listed', 20, 'alerts listed by name in one message; the rest are counted', 1, 1000),
];

/** Sections that exist once per NAME: `[receiver.NAME]`, `[route.NAME]`, `[log_rule.NAME]`. */
export const NAMED_SCHEMA = {
  receiver: [
    choice('type', '', ['', ...RECEIVER_TYPES], `kind of receiver: ${RECEIVER_TYPES.join(', ')} (required)`),
    str('url', '', 'webhook / Slack incoming-webhook URL (https://; http:// only to loopback unless allow_plaintext); its path is masked in output'),
    str('secret', '', 'webhook: HMAC-SHA256 key signing each message (X-Smgr-Signature); required for type = webhook', { sensitive: true }),
    seconds('timeout', 10, 'time limit of one delivery attempt', true),
    str('smtp_host', '', 'email: SMTP server host (required for type = email)'),
    int('smtp_port', 587, 'email: SMTP server port', 1, 65535),
    choice(
      'smtp_security',
      'starttls',
      SMTP_SECURITY,
      `email: ${SMTP_SECURITY.join(', ')} (starttls: upgrade required; tls: TLS from the first byte, port 465; none: plaintext, loopback only unless allow_plaintext)`,
    ),
    str('smtp_user', '', 'email: SMTP AUTH user (empty: no authentication)'),
    str('smtp_password', '', 'email: SMTP AUTH password', { sensitive: true }),
    str('smtp_ca', '', 'email: CA file (PEM) that signed the SMTP server certificate (empty: the system CAs)'),
    str('from', '', 'email: From address (required for type = email)'),
    str('to', '', 'email: comma-separated recipient addresses (required for type = email)'),
    bool('allow_plaintext', false, 'allow http:// or smtp_security = none to a host that is not loopback'),
  ],
  route: [
    str('receiver', '', 'comma-separated receiver names ([receiver.NAME]) that get what this route matches (required)'),
    str('events', '*', `comma-separated events, or *: ${NOTIFY_EVENTS.join(', ')}`),
    str('services', '*', 'comma-separated service-name globs (nginx, web-*), or *'),
    { key: 'labels', doc: 'host labels k=v,k2=v2 that must all match (empty: any host)', default: '', format: 'smgr-labels' },
    choice('min_severity', 'info', SEVERITIES, `lowest severity sent: ${SEVERITIES.join(', ')}`),
    bool('require_sound', false, 'only alerts about a process whose STATUS_PROCESS.sound = 1 (the seed flag "page someone for this one")'),
  ],
  log_rule: [
    str('process', '', 'the [process.NAME] this rule watches (required)'),
    list('file', 'log files to follow (file[] = lines), from their end; rotation and truncation are followed'),
    str('pattern', '', 'regular expression (RE2 syntax: no backreferences or lookaround, linear time) matched against each line (required)'),
    int('count', 1, 'matches within window that trigger the rule', 1, 100000),
    seconds('window', 60, 'the sliding window of count', true),
    choice('on_match', 'event', LOG_RULE_ACTIONS, 'alarm: raise the process alarm (the controller repairs it); event: send an event only (notifications)'),
    choice('severity', 'warning', SEVERITIES, 'severity of the log_pattern event'),
    list('redact', 'extra RE2 expressions whose matches are replaced by *** in reported lines (passwords, tokens and key=secret pairs always are)'),
    int('max_line', 512, 'bytes of a matched line kept in the event (longer lines are clipped)', 16, 4096),
  ],
} as const satisfies Record<string, readonly KeySpec[]>;

export type NamedPrefix = keyof typeof NAMED_SCHEMA;
export const NAMED_PREFIXES = Object.keys(NAMED_SCHEMA) as NamedPrefix[];

export function isNamedPrefix(name: string): name is NamedPrefix {
  return Object.hasOwn(NAMED_SCHEMA, name);
}

/** Names of [receiver.NAME], [route.NAME], [log_rule.NAME]. */
export const SECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
