import type { AutoApproveRules } from './auto-approve.js';
import type { CommandList } from '../command/index.js';

/**
 * How a process is restarted (seed 002): through its service manager, by
 * killing and starting the process, or `auto` (service if the manager knows
 * it, else process).
 */
export type RestartStrategy = 'service' | 'process' | 'auto';

/** Which init system runs services on a host; `auto` detects it, `none` has no services. */
export type ServiceManagerKind = 'auto' | 'systemd' | 'sysv' | 'openrc' | 'none';

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
  readonly workingDir: string | undefined;
  /** User (name or uid) the start command and hooks run as; undefined: the agent's own. */
  readonly user: string | undefined;
  /** Group (name or gid) of those commands; undefined: the primary group of `user`. */
  readonly group: string | undefined;
  /** Extra environment of this process's hook commands, as KEY=VALUE entries (later ones win). */
  readonly env: readonly string[];
  /** Accept UPDATE to a version older than the installed one (version_command); refused otherwise. */
  readonly allowDowngrade: boolean;
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
