export { loadConfig } from './load-config.js';
export { configSchemaDoc } from './config-schema.js';
export { autoApproves, globMatches, parseAutoApprove, type AutoApproveRules, type AutoApproveTerm } from './auto-approve.js';
export type {
  AgentConfig,
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
  RestartStrategy,
  ServiceManagerKind,
  SmgrConfig,
  TlsConfig,
} from './config-types.js';
