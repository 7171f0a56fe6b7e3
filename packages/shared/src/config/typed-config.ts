import { hostname } from 'node:os';
import type { CommandList } from '../command/index.js';
import type { LogLevel, ProcessConfig, ResourceAction, RestartStrategy, ServiceAction, ServiceManagerKind, SmgrConfig, WatchRepair } from './config-types.js';
import type { GlobalSection } from './config-schema.js';
import { parseHostPortList, parseLabels } from './formats.js';
import { parseAutoApprove } from './auto-approve.js';
import { parsePercent, parseSize } from './resource-units.js';
import type { Values } from './setting.js';

/** Typed access to values convict has validated. */
class Validated {
  constructor(private readonly values: Values) {}

  string(key: string): string {
    const v = this.values[key];
    if (typeof v !== 'string') throw new TypeError(`config key ${key} is not a string after validation`);
    return v;
  }

  optional(key: string): string | undefined {
    const v = this.string(key);
    return v === '' ? undefined : v;
  }

  number(key: string): number {
    const v = this.values[key];
    if (typeof v !== 'number') throw new TypeError(`config key ${key} is not a number after validation`);
    return v;
  }

  /** A seconds setting in milliseconds. */
  ms(key: string): number {
    return Math.round(this.number(key) * 1000);
  }

  bool(key: string): boolean {
    const v = this.values[key];
    if (typeof v !== 'boolean') throw new TypeError(`config key ${key} is not a boolean after validation`);
    return v;
  }

  commands(key: string): CommandList {
    return this.values[key] as CommandList;
  }

  strings(key: string): string[] {
    return this.values[key] as string[];
  }
}

/** The typed global sections, units normalised (seconds -> ms, KB -> bytes). */
export function toGlobalConfig(
  g: Record<GlobalSection, Values>,
): Omit<SmgrConfig, 'source' | 'processDefaults' | 'processes' | 'receivers' | 'routes' | 'logRules'> {
  const db = new Validated(g.database);
  const mon = new Validated(g.monitor);
  const log = new Validated(g.logging);
  const redis = new Validated(g.redis);
  const ctl = new Validated(g.controller);
  const agent = new Validated(g.agent);
  const tls = new Validated(g.tls);
  const api = new Validated(g.api);
  const notify = new Validated(g.notify);
  return {
    database: {
      host: db.string('host'),
      port: db.number('port'),
      user: db.string('user'),
      password: db.string('password'),
      database: db.string('database'),
      connectionLimit: db.number('connection_limit'),
      socket: db.optional('socket'),
      sslCa: db.string('ssl_ca'),
      sslCert: db.string('ssl_cert'),
      sslKey: db.string('ssl_key'),
      sslVerify: db.bool('ssl_verify'),
      allowPlaintext: db.bool('allow_plaintext'),
    },
    monitor: {
      checkIntervalMs: mon.ms('check_interval'),
      maxRestartFailures: mon.number('max_restart_failures'),
      circuitResetMs: mon.ms('circuit_reset_time'),
      retryDelayMs: mon.ms('retry_delay'),
      jobTimeoutMs: mon.ms('job_timeout'),
      eventRetentionDays: mon.number('event_retention_days'),
    },
    logging: {
      maxLogSizeBytes: log.number('max_log_size') * 1024,
      logFilesToKeep: log.number('log_files_to_keep'),
      level: log.string('level') as LogLevel,
      file: log.optional('file'),
    },
    redis: { url: redis.string('url'), prefix: redis.string('prefix') },
    controller: {
      id: ctl.optional('id') ?? hostname(),
      grpcListen: ctl.string('grpc_listen'),
      apiListen: ctl.string('api_listen'),
      heartbeatIntervalMs: ctl.ms('heartbeat_interval'),
      agentTtlMs: ctl.ms('agent_ttl'),
      createMissingRows: ctl.bool('create_missing_rows'),
      autoApprove: parseAutoApprove(ctl.string('auto_approve')) ?? [],
      leaseTtlMs: ctl.ms('lease_ttl'),
      rebalanceRate: ctl.number('rebalance_rate'),
      allowInsecureRemote: ctl.bool('allow_insecure_remote'),
      startupTimeoutMs: ctl.ms('startup_timeout'),
    },
    agent: {
      controllers: parseHostPortList(agent.string('controller')) ?? [],
      controllerOrder: agent.string('controller_order') as 'spread' | 'listed',
      hostId: agent.optional('host_id') ?? hostname(),
      labels: parseLabels(agent.string('labels')) ?? {},
      stateDir: agent.string('state_dir'),
      serviceManager: agent.string('service_manager') as ServiceManagerKind,
      reconnectMaxDelayMs: agent.ms('reconnect_max_delay'),
      autonomyAfterMs: agent.ms('autonomy_after'),
      journalMaxEntries: agent.number('journal_max_entries'),
      outputTailBytes: agent.number('output_tail_bytes'),
      sudo: agent.bool('sudo'),
      allowStopAll: agent.bool('allow_stop_all'),
      systemdDbus: agent.bool('systemd_dbus'),
      serviceUsage: agent.bool('service_usage'),
      containerMode: agent.string('container_mode') === 'auto' ? 'auto' : agent.string('container_mode') === 'true',
      subreaper: agent.bool('subreaper'),
      usageReportIntervalMs: agent.ms('usage_report_interval'),
    },
    tls: {
      ca: tls.string('ca'),
      cert: tls.string('cert'),
      key: tls.string('key'),
      insecure: tls.bool('insecure'),
      crl: tls.string('crl'),
      pinCaSha256: tls.string('pin_ca_sha256').replace(/:/g, '').toLowerCase(),
    },
    api: {
      enabled: api.bool('enabled'),
      cert: api.optional('cert') ?? tls.string('cert'),
      key: api.optional('key') ?? tls.string('key'),
      insecure: api.bool('insecure'),
      tokenTtlMs: api.number('token_ttl_days') * 86_400_000,
      operationTimeoutMs: api.ms('operation_timeout'),
      rateLimitMax: api.number('rate_limit_max'),
      rateLimitWindowMs: api.ms('rate_limit_window'),
      auditRetentionDays: api.number('audit_retention_days'),
      sessionTtlMs: api.ms('session_ttl'),
      consoleMaxClients: api.number('console_max_clients'),
    },
    notify: {
      groupWaitMs: notify.ms('group_wait'),
      sendResolved: notify.bool('send_resolved'),
      agentDownAfterMs: notify.ms('agent_down_after'),
      certWarnDays: notify.number('cert_warn_days'),
      checkIntervalMs: notify.ms('check_interval'),
      maxAttempts: notify.number('max_attempts'),
      retryBackoffMs: notify.ms('retry_backoff'),
      deadLettersKept: notify.number('dead_letters_kept'),
      maxAlertsListed: notify.number('max_alerts_listed'),
    },
  };
}

/** One typed process; `agentServiceManager` fills an empty service_manager. */
export function toProcessConfig(name: string, values: Values, agentServiceManager: ServiceManagerKind): ProcessConfig {
  const p = new Validated(values);
  return {
    name,
    restartStrategy: p.string('restart_strategy') as RestartStrategy,
    preRestartCommand: p.commands('pre_restart_command'),
    healthCheckCommand: p.commands('health_check_command'),
    healthCheckTimeoutMs: p.ms('health_check_timeout'),
    healthCheckIntervalMs: p.ms('health_check_interval'),
    restartDelayMs: p.ms('restart_delay'),
    maxAttempts: p.number('max_attempts'),
    startCommand: p.commands('start_command'),
    stopCommand: p.commands('stop_command'),
    assertUpCommand: p.commands('assert_up_command'),
    assertDownCommand: p.commands('assert_down_command'),
    installCommand: p.commands('install_command'),
    configureCommand: p.commands('configure_command'),
    versionCommand: p.commands('version_command'),
    stopTimeoutMs: p.ms('stop_timeout'),
    pidfile: p.optional('pidfile'),
    serviceName: p.optional('service_name') ?? (name === 'default' ? undefined : name),
    serviceManager: (p.optional('service_manager') as ServiceManagerKind | undefined) ?? agentServiceManager,
    startupRank: p.number('startup_rank'),
    commandTimeoutMs: p.ms('command_timeout'),
    operationTimeoutMs: p.ms('operation_timeout'),
    watch: p.bool('watch'),
    watchIntervalMs: p.ms('watch_interval'),
    watchFailures: p.number('watch_failures'),
    watchRepair: p.string('watch_repair') as WatchRepair,
    workingDir: p.optional('working_dir'),
    user: p.optional('user'),
    group: p.optional('group'),
    env: p.strings('env'),
    allowDowngrade: p.bool('allow_downgrade'),
    resources: {
      maxMemoryBytes: parseSize(p.string('max_memory')) ?? 0,
      maxCpuPercent: parsePercent(p.string('max_cpu')) ?? 0,
      maxOpenFiles: p.number('max_open_files'),
      maxChildren: p.number('max_children'),
      checks: p.number('resource_checks'),
      action: p.string('resource_action') as ResourceAction,
      clearChecks: p.number('resource_clear_checks'),
      clearMarginPercent: p.number('resource_clear_margin'),
    },
    actions: values['action'] as ServiceAction[],
  };
}
