import type { AutoApproveRules } from './auto-approve.js';
import type { Command, CommandList } from '../command/index.js';
import type { LogRuleAction, NotifyEvent, ReceiverType, Severity, SmtpSecurity } from './named-schema.js';

/**
 * How a process is restarted (seed 002): through its service manager, by
 * killing and starting the process, or `auto` (service if the manager knows
 * it, else process).
 */
export type RestartStrategy = 'service' | 'process' | 'auto';
/** Who repairs a watched service that fails (process.watch_repair). */
export type WatchRepair = 'controller' | 'agent';

/** Which init system runs services on a host; `auto` detects it, `none` has no services. */
export type ServiceManagerKind = 'auto' | 'systemd' | 'sysv' | 'openrc' | 'none';

/** What an exceeded resource rule does: restart the service here, raise its alarm, or only record an event. */
export type ResourceAction = 'restart' | 'alarm' | 'event';

/**
 * Monit-style resource rules of one process (`max_memory`, `max_cpu`,
 * `max_open_files`, `max_children`); a limit of 0 is no rule.
 */
export interface ResourceRules {
  readonly maxMemoryBytes: number;
  /** Percent of one CPU. */
  readonly maxCpuPercent: number;
  readonly maxOpenFiles: number;
  readonly maxChildren: number;
  /** Consecutive samples over a limit before the action. */
  readonly checks: number;
  readonly action: ResourceAction;
  /** Consecutive samples below the limit less `clearMarginPercent` before an exceeded rule clears. */
  readonly clearChecks: number;
  readonly clearMarginPercent: number;
}
/** `agent.container_mode`: `auto` is on when the agent is PID 1 of its PID namespace. */
export type ContainerModeSetting = 'auto' | 'true' | 'false';

/** pino level names accepted by `logging.level`. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** What `loadConfig` reads, besides its built-in defaults. */
export interface LoadConfigOptions {
  /** Path to config.ini (or any non-.json name) or a *.json file; undefined: defaults + env + overrides only. */
  file?: string;
  /** `SMGR_<SECTION>_<KEY>` variables are read from here; default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * `section.key=value` from repeated `--set` flags; process keys as
   * `process.NAME.key=value` (NAME may contain dots). Later entries win.
   */
  overrides?: readonly string[];
  /** Sections the file must contain, e.g. `['database']` for the controller. */
  requireSections?: readonly string[];
}

/** [database]: the MySQL/MariaDB holding PROCESE and STATUS_PROCESS. */
export interface DatabaseConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly connectionLimit: number;
  /** UNIX socket path; when set, host and port are not used. */
  readonly socket: string | undefined;
  /** TLS to MySQL: CA file (PEM); '' or absent: no TLS. */
  readonly sslCa?: string;
  /** Client certificate and key (PEM) for MySQL accounts that REQUIRE X509; ''/absent: none. */
  readonly sslCert?: string;
  readonly sslKey?: string;
  /** Verify the server certificate and host name; default true. */
  readonly sslVerify?: boolean;
  /** Allow plaintext to a non-loopback host; default false. */
  readonly allowPlaintext?: boolean;
}

/** [monitor]: alarm polling and the circuit breaker. */
export interface MonitorConfig {
  readonly checkIntervalMs: number;
  readonly maxRestartFailures: number;
  readonly circuitResetMs: number;
  readonly retryDelayMs: number;
  readonly jobTimeoutMs: number;
  readonly eventRetentionDays: number;
}

/** [logging]: JSON lines to stdout and, optionally, a size-rotated file. */
export interface LoggingConfig {
  readonly maxLogSizeBytes: number;
  /** Rotated log files kept besides the live one (FILE.1 … FILE.N). */
  readonly logFilesToKeep: number;
  readonly level: LogLevel;
  /** Undefined: stdout only. */
  readonly file: string | undefined;
}

/** [redis]: BullMQ's Redis. */
export interface RedisConfig {
  /** redis://, rediss:// or unix:///path/to/redis.sock[?db=N]. */
  readonly url: string;
  readonly prefix: string;
}

/** [controller]: the central daemon. */
export interface ControllerConfig {
  /** Defaults to the host name. */
  readonly id: string;
  readonly grpcListen: string;
  readonly apiListen: string;
  readonly heartbeatIntervalMs: number;
  readonly agentTtlMs: number;
  readonly createMissingRows: boolean;
  /** Hosts whose non-conflicting service claims are approved automatically (`[controller] auto_approve`). */
  readonly autoApprove: AutoApproveRules;
  /** HA: how long the active controller's lease lasts without renewal. */
  readonly leaseTtlMs: number;
  /** Agents per second a controller above its share asks to move; 0: never. */
  readonly rebalanceRate: number;
  /** Plaintext gRPC/API listeners may bind a non-loopback address. */
  readonly allowInsecureRemote: boolean;
  /** How long start-up waits for MySQL, and then for Redis, before exiting 69. */
  readonly startupTimeoutMs: number;
}

/** [agent]: the per-host daemon. */
export interface AgentConfig {
  /** Controller addresses (host:port): every controller of the fleet. */
  readonly controllers: readonly string[];
  /** spread: a per-host order (rendezvous hash of host id and address); listed: as written. */
  readonly controllerOrder: 'spread' | 'listed';
  /** Defaults to the host name. */
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly stateDir: string;
  readonly serviceManager: ServiceManagerKind;
  readonly reconnectMaxDelayMs: number;
  /** 0: never repair without the controller. */
  readonly autonomyAfterMs: number;
  readonly journalMaxEntries: number;
  readonly outputTailBytes: number;
  /** Prefix SysV / OpenRC service commands with `sudo -n`. */
  readonly sudo: boolean;
  /** Accept STOP for "*" (every service); refused otherwise. */
  readonly allowStopAll: boolean;
  /** Follow watched systemd units through D-Bus signals (agent.systemd_dbus). */
  readonly systemdDbus: boolean;
  /** Sample and report what every service costs (agent.service_usage). */
  readonly serviceUsage: boolean;
  /** Start the services at start-up and stop them at shutdown (an init's duties); 'auto': when PID 1. */
  readonly containerMode: 'auto' | boolean;
  /** prctl(PR_SET_CHILD_SUBREAPER) at start, so orphaned daemons are reaped by the agent. */
  readonly subreaper: boolean;
  /** Time between usage reports (agent.usage_report_interval). */
  readonly usageReportIntervalMs: number;
}

/** [tls]: mutual TLS of the gRPC channel. ca/cert/key (PEM file paths) are set unless insecure ('' then). */
export interface TlsConfig {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly insecure: boolean;
  /** CRL file (PEM) or ''. */
  readonly crl: string;
  /** Hex SHA-256 of the issuing CA (lower case, no colons) or ''. */
  readonly pinCaSha256: string;
}

/** [api]: the controller's HTTP API. */
export interface ApiConfig {
  readonly enabled: boolean;
  /** HTTPS certificate file (PEM): api.cert, else tls.cert; '' only when insecure. */
  readonly cert: string;
  /** HTTPS private key file (PEM): api.key, else tls.key; '' only when insecure. */
  readonly key: string;
  /** Plain HTTP. */
  readonly insecure: boolean;
  /** Validity of a new token when its creator gives none; 0: no expiry. */
  readonly tokenTtlMs: number;
  /** Longest an operation request waits for its hosts' results. */
  readonly operationTimeoutMs: number;
  /** Requests per client address per window; 0: no limit. */
  readonly rateLimitMax: number;
  readonly rateLimitWindowMs: number;
  /** smgr_audit rows older than this are deleted by the retention sweep. */
  readonly auditRetentionDays: number;
  /** Lifetime of a web console session (api.session_ttl). */
  readonly sessionTtlMs: number;
  /** Web console live streams open at once (api.console_max_clients). */
  readonly consoleMaxClients: number;
}

/** One [process.NAME] section layered over [process.default] and the built-in defaults. */
export interface ProcessConfig {
  /** The section's NAME ('default' for the defaults themselves). */
  readonly name: string;
  readonly restartStrategy: RestartStrategy;
  readonly preRestartCommand: CommandList;
  /** `%s` in any element stands for the process name (see expandArgv). */
  readonly healthCheckCommand: CommandList;
  readonly healthCheckTimeoutMs: number;
  readonly healthCheckIntervalMs: number;
  readonly restartDelayMs: number;
  readonly maxAttempts: number;
  readonly startCommand: CommandList;
  readonly stopCommand: CommandList;
  readonly assertUpCommand: CommandList;
  readonly assertDownCommand: CommandList;
  readonly installCommand: CommandList;
  readonly configureCommand: CommandList;
  readonly versionCommand: CommandList;
  /** SIGTERM grace before SIGKILL. */
  readonly stopTimeoutMs: number;
  readonly pidfile: string | undefined;
  /** Unit / init script name; the process NAME unless set (undefined only in processDefaults). */
  readonly serviceName: string | undefined;
  /** Resolved: an empty setting inherits agent.service_manager. */
  readonly serviceManager: ServiceManagerKind;
  readonly startupRank: number;
  readonly commandTimeoutMs: number;
  readonly operationTimeoutMs: number;
  readonly watch: boolean;
  readonly watchIntervalMs: number;
  readonly watchFailures: number;
  /** controller: report, the controller raises the alarm and orders the repair; agent: restart here at once, then report. */
  readonly watchRepair: WatchRepair;
  readonly workingDir: string | undefined;
  /** User (name or uid) the start command and hooks run as; undefined: the agent's own. */
  readonly user: string | undefined;
  /** Group (name or gid) of those commands; undefined: the primary group of `user`. */
  readonly group: string | undefined;
  /** Extra environment of this process's hook commands, as KEY=VALUE entries (later ones win). */
  readonly env: readonly string[];
  /** Accept UPDATE to a version older than the installed one (version_command); refused otherwise. */
  readonly allowDowngrade: boolean;
  /** Resource rules checked on every usage sample (issue 16). */
  readonly resources: ResourceRules;
  /** Named commands operators may run (`action[] = NAME: command`), in file order. */
  readonly actions: readonly ServiceAction[];
}

/** One `action[] = NAME: command` entry of a process. */
export interface ServiceAction {
  readonly name: string;
  /** argv; `%s` stands for the process name. */
  readonly command: Command;
}

/** [notify]: grouping and delivery of notifications. */
export interface NotifyConfig {
  readonly groupWaitMs: number;
  readonly sendResolved: boolean;
  readonly agentDownAfterMs: number;
  readonly certWarnDays: number;
  readonly checkIntervalMs: number;
  readonly maxAttempts: number;
  readonly retryBackoffMs: number;
  readonly deadLettersKept: number;
  readonly maxAlertsListed: number;
}

/** One [receiver.NAME]. */
export interface ReceiverConfig {
  readonly name: string;
  readonly type: ReceiverType;
  /** webhook / slack. */
  readonly url: string;
  /** webhook HMAC key. */
  readonly secret: string;
  readonly timeoutMs: number;
  readonly smtp: {
    readonly host: string;
    readonly port: number;
    readonly security: SmtpSecurity;
    readonly user: string;
    readonly password: string;
    /** CA file (PEM) or ''. */
    readonly ca: string;
  };
  readonly from: string;
  readonly to: readonly string[];
}

/** One [route.NAME]: which alerts go to which receivers. */
export interface RouteConfig {
  readonly name: string;
  readonly receivers: readonly string[];
  /** undefined: every event. */
  readonly events: readonly NotifyEvent[] | undefined;
  /** Globs; undefined: every service. */
  readonly services: readonly string[] | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly minSeverity: Severity;
  readonly requireSound: boolean;
}

/** One [log_rule.NAME]: lines of a process's log files that raise its alarm or send an event. */
export interface LogRuleConfig {
  readonly name: string;
  readonly process: string;
  readonly files: readonly string[];
  /** RE2 syntax, checked at load. */
  readonly pattern: string;
  readonly count: number;
  readonly windowMs: number;
  readonly onMatch: LogRuleAction;
  readonly severity: Severity;
  readonly redact: readonly string[];
  readonly maxLineBytes: number;
}

/** The whole validated configuration, deep-frozen, units normalised (ms, bytes). */
export interface SmgrConfig {
  /** The config file path, or 'defaults' when none was given. */
  readonly source: string;
  readonly database: DatabaseConfig;
  readonly monitor: MonitorConfig;
  readonly logging: LoggingConfig;
  readonly redis: RedisConfig;
  readonly controller: ControllerConfig;
  readonly agent: AgentConfig;
  readonly tls: TlsConfig;
  readonly api: ApiConfig;
  readonly notify: NotifyConfig;
  /** [receiver.NAME], [route.NAME], [log_rule.NAME] in file order. */
  readonly receivers: readonly ReceiverConfig[];
  readonly routes: readonly RouteConfig[];
  readonly logRules: readonly LogRuleConfig[];
  /** [process.default] over the built-in defaults. */
  readonly processDefaults: ProcessConfig;
  /** The named [process.NAME] sections, in file order. */
  readonly processes: readonly ProcessConfig[];
}

/** One documented setting, for --help and man pages. */
export interface ConfigKeyDoc {
  /** `section.key`; process keys as `process.NAME.key`. */
  readonly key: string;
  readonly doc: string;
  /** As written in config.ini (seconds, KB). */
  readonly default: string | number | boolean | readonly string[];
  /** The overriding environment variable, if any. */
  readonly env: string | undefined;
}
