export { loadConfig, loadConfigReport } from './load-config.js';
export { configSchemaDoc } from './config-schema.js';
export { autoApproves, globMatches, parseAutoApprove, type AutoApproveRules, type AutoApproveTerm } from './auto-approve.js';
export { readIni, type IniDocument, type IniEntry, type IniSection, type ReadIniOptions } from './ini-reader.js';
export { closestWord, withSuggestion } from './did-you-mean.js';
export { formatEffectiveSettings, maskUrlCredentials, sectionsUsedBy } from './effective-settings.js';
export type { ConfigReport, DaemonRole, EffectiveSection, EffectiveSetting } from './effective-settings.js';
export { formatBytes, parsePercent, parseSize } from './resource-units.js';
export { checkConfigFiles } from './config-file-checks.js';
export { formatConfigWarning, pgrepFix, pgrepWarnings, type ConfigWarning } from './pgrep-warnings.js';
export {
  LOG_RULE_ACTIONS,
  NOTIFY_EVENTS,
  RECEIVER_TYPES,
  SEVERITIES,
  SMTP_SECURITY,
  type LogRuleAction,
  type NotifyEvent,
  type ReceiverType,
  type Severity,
  type SmtpSecurity,
} from './named-schema.js';
export { re2Problem } from './named-config.js';
export type {
  AgentConfig,
  LogRuleConfig,
  NotifyConfig,
  ReceiverConfig,
  RouteConfig,
  ServiceAction,
  ApiConfig,
  ConfigKeyDoc,
  ControllerConfig,
  DatabaseConfig,
  LoadConfigOptions,
  LoggingConfig,
  LogLevel,
  MonitorConfig,
  ProcessConfig,
  RedisConfig,
  ResourceAction,
  ResourceRules,
  RestartStrategy,
  ServiceManagerKind,
  SmgrConfig,
  TlsConfig,
  WatchRepair,
} from './config-types.js';
