import type convict from 'convict';
import type { ConfigKeyDoc, ContainerModeSetting, LogLevel, ResourceAction, RestartStrategy, ServiceManagerKind, WatchRepair } from './config-types.js';
import { Format } from './formats.js';
import { bool, choice, command, int, list, seconds, str, type KeySpec } from './key-spec.js';
import { NAMED_SCHEMA, NOTIFY_SCHEMA, isNamedPrefix, type NamedPrefix } from './named-schema.js';

export type { KeySpec } from './key-spec.js';

export const RESTART_STRATEGIES: readonly RestartStrategy[] = ['service', 'process', 'auto'];
export const WATCH_REPAIRS: readonly WatchRepair[] = ['controller', 'agent'];
export const SERVICE_MANAGERS: readonly ServiceManagerKind[] = ['auto', 'systemd', 'sysv', 'openrc', 'none'];
export const RESOURCE_ACTIONS: readonly ResourceAction[] = ['restart', 'alarm', 'event'];
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
export const CONTAINER_MODES: readonly ContainerModeSetting[] = ['auto', 'true', 'false'];

/** The global sections and their keys. */
export const GLOBAL_SCHEMA = {
  database: [
    str('host', 'localhost', 'MySQL/MariaDB host name or address'),
    int('port', 3306, 'MySQL/MariaDB port', 1, 65535),
    str('user', 'smgr', 'database user (least privileges: sql/grants.sql)'),
    str('password', '', 'database password', { sensitive: true }),
    str('database', 'v_process_monitor', 'database (schema) holding PROCESE and STATUS_PROCESS'),
    int('connection_limit', 10, 'connections in the pool', 1),
    str('socket', '', 'UNIX socket of MySQL/MariaDB; when set, host and port are not used (empty: TCP)'),
    str('ssl_ca', '', 'CA certificate file (PEM) that signed the MySQL server certificate; set to use TLS (empty: no TLS)'),
    str('ssl_cert', '', 'client certificate file (PEM), when MySQL requires one (REQUIRE X509)'),
    str('ssl_key', '', 'private key file (PEM) of database.ssl_cert'),
    bool('ssl_verify', true, 'check the MySQL server certificate against database.ssl_ca and its name against database.host'),
    bool('allow_plaintext', false, 'allow an unencrypted connection to a MySQL host that is not loopback (credentials and data cross the network in clear)'),
  ],
  monitor: [
    seconds('check_interval', 0.2, 'time between alarm polls', true),
    int('max_restart_failures', 3, 'failed restarts before the circuit breaker opens', 1),
    seconds('circuit_reset_time', 1800, 'time after which an open circuit breaker closes again', false),
    seconds('retry_delay', 10, 'time before repairing a still-alarmed process again after a failed repair', false),
    seconds('job_timeout', 600, "time the controller waits for an agent's result", true),
    int('event_retention_days', 30, 'days events are kept', 1),
  ],
  logging: [
    int('max_log_size', 5120, 'log file size that triggers rotation (KB)', 1),
    int('log_files_to_keep', 5, 'rotated log files kept besides the live one (FILE.1 … FILE.N, newest first)', 1),
    choice('level', 'info', LOG_LEVELS, `lowest level logged: ${LOG_LEVELS.join(', ')}`),
    str('file', '', 'log file (JSON lines): FILE is the live file, rotated by size to FILE.1 (newest) … FILE.N as logrotate does (empty: stdout only)'),
  ],
  redis: [
    {
      key: 'url',
      doc: 'Redis URL: redis://host:port[/db], rediss:// (TLS) or unix:///path/to/redis.sock[?db=N]',
      default: 'redis://127.0.0.1:6379',
      format: Format.redisUrl,
    },
    str('prefix', 'smgr', 'prefix of queue keys in Redis'),
  ],
  controller: [
    str('id', '', 'controller id (empty: host name)'),
    { key: 'grpc_listen', doc: 'host:port where agents connect (gRPC, mutual TLS)', default: '0.0.0.0:7443', format: Format.hostPort },
    { key: 'api_listen', doc: 'host:port of the HTTP API', default: '127.0.0.1:7080', format: Format.hostPort },
    seconds('heartbeat_interval', 5, 'time between heartbeats on an agent stream', true),
    seconds('agent_ttl', 15, 'time without a heartbeat after which an agent counts as gone', true),
    bool('create_missing_rows', false, 'create STATUS_PROCESS rows for processes agents report but the database lacks'),
    {
      key: 'auto_approve',
      doc: "hosts whose service claims are approved without an operator when they change no existing placement: '*' (every host), 'none', or a comma-separated list of host-id globs (web*) and key=value label terms; conflicting claims always wait for `smgr hosts approve`",
      default: '*',
      format: Format.autoApprove,
    },
    seconds(
      'lease_ttl',
      5,
      'time the leader (the controller running the poller, rollouts and retention) keeps its lease without renewing it; another controller takes over after it',
      true,
    ),
    int(
      'rebalance_rate',
      20,
      'agents per second a controller holding more than its share of the fleet asks to reconnect elsewhere (those on a second-choice address first); 0: never',
      0,
      100_000,
    ),
    bool(
      'allow_insecure_remote',
      false,
      'let plaintext listeners (tls.insecure for grpc_listen, api.insecure for api_listen) bind an address other than loopback',
    ),
    seconds('startup_timeout', 60, 'how long the controller waits at start for MySQL and for Redis (each) before it exits 69', true),
  ],
  agent: [
    {
      key: 'controller',
      doc: 'controller address host:port, or a comma-separated list of every controller: the agent connects to one of them (see controller_order) and moves to the next when it is down, stopping or full',
      default: '127.0.0.1:7443',
      format: Format.hostPortList,
    },
    choice(
      'controller_order',
      'spread',
      ['spread', 'listed'],
      "order the agent tries controller addresses in: spread (a per-host order by a hash of host_id and address, so a fleet spreads evenly and a dead controller's agents spread over the others) or listed (as written)",
    ),
    str('host_id', '', 'host id this agent reports (empty: host name)'),
    { key: 'labels', doc: 'labels as k=v,k2=v2 (selectors for rollouts)', default: '', format: Format.labels },
    str('state_dir', '/var/lib/smgr-agent', 'directory for the agent journal and state'),
    choice('service_manager', 'auto', SERVICE_MANAGERS, `init system: ${SERVICE_MANAGERS.join(', ')}`),
    seconds('reconnect_max_delay', 30, 'longest wait between reconnection attempts', true),
    seconds('autonomy_after', 0, 'time without the controller after which the agent repairs on its own (0: never)', false),
    int('journal_max_entries', 1000, 'results kept in the local journal until the controller acknowledges them', 1),
    int('output_tail_bytes', 4096, 'bytes of command output sent back with a result', 0),
    bool('allow_stop_all', false, 'accept STOP for service "*" (every service of this agent at once) from the controller'),
    bool(
      'systemd_dbus',
      true,
      'follow the systemd units of watched services (restart_strategy service or auto) through D-Bus PropertiesChanged signals, so a unit that fails is checked at once; polling at watch_interval goes on either way (false: polling only)',
    ),
    bool(
      'service_usage',
      true,
      'sample what every service costs (memory, CPU, threads, open files, uptime, restarts) and report it to the controller (false: only services with resource rules are sampled, nothing is reported)',
    ),
    seconds(
      'usage_report_interval',
      30,
      'time between usage reports to the controller; a service without resource rules is sampled in the first watch round after this much time, one with rules in every round',
      true,
    ),
    bool(
      'sudo',
      false,
      'run SysV and OpenRC service commands (service, /etc/init.d scripts, rc-service) as `sudo -n ...`: for an agent that is not root (systemd needs a polkit rule instead; see docs/agent-privileges.md)',
    ),
    choice(
      'container_mode',
      'auto',
      CONTAINER_MODES,
      "be the init of this agent's services, as in a container: start them by ascending startup_rank when the agent starts (services held by a STOP excepted) and, at SIGTERM or SIGINT, stop them by descending startup_rank, each within its stop_timeout, then exit 0; auto: when the agent is PID 1 of its PID namespace",
    ),
    bool(
      'subreaper',
      true,
      'become a child subreaper (prctl PR_SET_CHILD_SUBREAPER): a daemon that a start command leaves behind becomes a child of the agent, which reaps it when it dies (as PID 1 the agent reaps every orphan whatever this says)',
    ),
  ],
  tls: [
    str('ca', '', 'CA certificate file (PEM); required unless insecure'),
    str('cert', '', 'certificate file (PEM); required unless insecure'),
    str('key', '', 'private key file (PEM); required unless insecure'),
    bool('insecure', false, 'plaintext gRPC without TLS: only for a local demo'),
    str('crl', '', 'certificate revocation list (PEM, from "smgr pki revoke"); re-read when it changes, peers it lists are refused (empty: none)'),
    str(
      'pin_ca_sha256',
      '',
      'SHA-256 fingerprint of the CA that must have issued the peer certificate, when tls.ca trusts more than one (empty: any CA in tls.ca)',
    ),
  ],
  api: [
    bool('enabled', false, 'serve the HTTP API (operator CLI, CI/CD) on controller.api_listen'),
    str('cert', '', 'HTTPS certificate file (PEM) of the API (empty: tls.cert)'),
    str('key', '', 'HTTPS private key file (PEM) of the API (empty: tls.key)'),
    bool('insecure', false, 'plain HTTP instead of HTTPS: only for a local demo'),
    int('token_ttl_days', 0, 'days a new API token stays valid unless its creator says otherwise (0: no expiry)', 0),
    seconds('operation_timeout', 300, 'longest an operation request (restart, start, stop, status, update) waits for its hosts', true),
    int('rate_limit_max', 600, 'requests one client address may make per rate_limit_window; more get 429 with Retry-After (0: no limit)', 0),
    seconds('rate_limit_window', 60, 'window of api.rate_limit_max', true),
    int('audit_retention_days', 365, 'days rows of the API audit trail (smgr_audit) are kept', 1),
    seconds('session_ttl', 28_800, 'how long a web console sign-in lasts (never longer than its token)', true),
    int('console_max_clients', 64, 'web console live streams (GET /ui/events) open at once; more get 503', 1),
  ],
  notify: NOTIFY_SCHEMA,
} as const satisfies Record<string, readonly KeySpec[]>;

export type GlobalSection = keyof typeof GLOBAL_SCHEMA;
export const GLOBAL_SECTIONS = Object.keys(GLOBAL_SCHEMA) as GlobalSection[];

export function isGlobalSection(name: string): name is GlobalSection {
  return Object.hasOwn(GLOBAL_SCHEMA, name);
}

/** Keys of [process.default] and [process.NAME]. */
export const PROCESS_SCHEMA: readonly KeySpec[] = [
  choice('restart_strategy', 'auto', RESTART_STRATEGIES, `how to restart: ${RESTART_STRATEGIES.join(', ')}`),
  command('pre_restart_command', 'command that must succeed before a restart (e.g. a config test)'),
  command(
    'health_check_command',
    'command that succeeds while the process is healthy; %s is the name (pgrep without -x also matches longer names: --check-config warns)',
    'pgrep -x -- %s',
  ),
  seconds('health_check_timeout', 5, 'how long a restarted process may take to pass its health check', true),
  seconds('health_check_interval', 0.5, 'time between health check attempts', true),
  seconds('restart_delay', 2, 'time between restart attempts', false),
  int('max_attempts', 2, 'restart attempts per repair', 1),
  command('start_command', 'command that starts the service'),
  command('stop_command', 'command that stops the service'),
  command('assert_up_command', 'command that succeeds when the service is up'),
  command('assert_down_command', 'command that succeeds when the service is down'),
  command('install_command', 'command that installs a version (rollouts)'),
  command('configure_command', 'command that (re)writes configuration'),
  command('version_command', 'command that prints the installed version'),
  seconds('stop_timeout', 10, 'SIGTERM grace before SIGKILL', false),
  str('pidfile', '', 'pid file of the process (empty: find it by name)'),
  str('service_name', '', 'unit / init script name (empty: the process NAME)'),
  choice('service_manager', '', ['', ...SERVICE_MANAGERS], `init system for this service: ${SERVICE_MANAGERS.join(', ')} (empty: agent.service_manager)`),
  int('startup_rank', 0, 'order of start (ascending) and stop (descending) among services'),
  seconds('command_timeout', 60, 'time limit of one hook command', true),
  seconds('operation_timeout', 300, 'time limit of a whole operation (restart, start, update)', true),
  bool('watch', false, 'let the agent check this process itself and raise alarms'),
  seconds('watch_interval', 10, 'time between local watch checks', true),
  int('watch_failures', 3, 'consecutive failed watch checks that raise an alarm', 1),
  choice(
    'watch_repair',
    'controller',
    WATCH_REPAIRS,
    'who repairs a watched service that fails: controller (the agent reports, the controller raises the alarm and orders the repair) or agent (the agent restarts it at once under its local circuit breaker, at most 5 times a minute, and reports the result for the history; a failed or throttled repair raises the alarm)',
  ),
  str('working_dir', '', "working directory of hook commands (empty: the agent's)"),
  str(
    'user',
    '',
    "user (name or uid) that this service's start command and hooks run as (empty: the agent's); only for an agent running as root (in a container or on a SysV host); see docs/agent-privileges.md",
  ),
  str('group', '', "group (name or gid) of this service's commands (empty: the primary group of `user`); needs an agent running as root"),
  list('action', 'named commands operators may run (smgr action SERVICE NAME): action[] = NAME: command, argv rules as the other hooks (%s is the name)'),
  bool('allow_downgrade', false, 'accept UPDATE to a version older than the one version_command reports (rollbacks of a rollout need it)'),
  {
    key: 'max_memory',
    doc: "resource rule: memory of the service (RSS of its process tree, or its cgroup's memory.current) above this, e.g. 200M or 1.5G (empty: no rule)",
    default: '',
    format: Format.size,
  },
  {
    key: 'max_cpu',
    doc: 'resource rule: CPU of the service in percent of one CPU between two samples, e.g. 90% (empty: no rule)',
    default: '',
    format: Format.percent,
  },
  int('max_open_files', 0, 'resource rule: open files (entries of /proc/PID/fd over the process tree) above this (0: no rule)', 0),
  int('max_children', 0, 'resource rule: processes under the main one (children, grandchildren …) above this (0: no rule)', 0),
  int('resource_checks', 3, 'samples in a row a resource rule must be exceeded before its action runs (one sample per watch round)', 1, 1000),
  choice(
    'resource_action',
    'alarm',
    RESOURCE_ACTIONS,
    `what an exceeded resource rule does: ${RESOURCE_ACTIONS.join(', ')} (restart: the agent restarts the service; alarm: raise its alarm, the controller repairs it; event: only record it)`,
  ),
  int(
    'resource_clear_checks',
    3,
    'samples in a row below the threshold (less resource_clear_margin) before an exceeded rule counts as cleared and may act again',
    1,
    1000,
  ),
  int('resource_clear_margin', 10, 'percent of the threshold a value must fall below it to count towards clearing an exceeded rule (hysteresis)', 0, 99),
  {
    key: 'env',
    doc: 'extra environment of hook commands: env[] = KEY=VALUE lines',
    default: [],
    format: Format.envList,
  },
];

/** Process keys whose values are commands (read verbatim from config.ini, then parsed into argv). */
export const COMMAND_KEYS: ReadonlySet<string> = new Set(PROCESS_SCHEMA.filter((s) => s.format === Format.commands).map((s) => s.key));

/** `SMGR_<SECTION>_<KEY>`, upper-case. */
export function envVarName(section: GlobalSection, key: string): string {
  return `SMGR_${section}_${key}`.toUpperCase();
}

export function findSpec(section: string, key: string): KeySpec | undefined {
  const dot = section.indexOf('.');
  const prefix = dot < 0 ? section : section.slice(0, dot);
  const specs = isGlobalSection(section) ? GLOBAL_SCHEMA[section] : isNamedPrefix(prefix) ? NAMED_SCHEMA[prefix] : PROCESS_SCHEMA;
  return specs.find((s) => s.key === key);
}

type ConvictSection = Record<string, convict.SchemaObj>;

function toConvict(specs: readonly KeySpec[]): ConvictSection {
  const out: ConvictSection = {};
  for (const { key, default: def, ...rest } of specs) {
    out[key] = { ...rest, default: Array.isArray(def) ? [...def] : def };
  }
  return out;
}

/** convict schema of the global sections. */
export function globalConvictSchema(): Record<GlobalSection, ConvictSection> {
  const out = {} as Record<GlobalSection, ConvictSection>;
  for (const section of GLOBAL_SECTIONS) out[section] = toConvict(GLOBAL_SCHEMA[section]);
  return out;
}

/** convict schema of one [receiver.NAME], [route.NAME] or [log_rule.NAME] section. */
export function namedConvictSchema(prefix: NamedPrefix): ConvictSection {
  return toConvict(NAMED_SCHEMA[prefix]);
}

/** convict schema of one process section (instantiated once per process). */
export function processConvictSchema(): ConvictSection {
  return toConvict(PROCESS_SCHEMA);
}

/** Every setting with its documentation, default and environment variable, for --help and man pages. */
export function configSchemaDoc(): ConfigKeyDoc[] {
  const docs: ConfigKeyDoc[] = [];
  for (const section of GLOBAL_SECTIONS) {
    for (const spec of GLOBAL_SCHEMA[section]) {
      docs.push({ key: `${section}.${spec.key}`, doc: spec.doc, default: spec.default, env: envVarName(section, spec.key) });
    }
  }
  for (const spec of PROCESS_SCHEMA) {
    docs.push({ key: `process.NAME.${spec.key}`, doc: spec.doc, default: spec.default, env: undefined });
  }
  for (const [prefix, specs] of Object.entries(NAMED_SCHEMA)) {
    for (const spec of specs) docs.push({ key: `${prefix}.NAME.${spec.key}`, doc: spec.doc, default: spec.default, env: undefined });
  }
  return docs;
}
