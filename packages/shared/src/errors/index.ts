export {
  ExitCode,
  SmgrError,
  ConfigError,
  formatConfigDetail,
  UnavailableError,
  ProtocolError,
  NotFoundError,
  RefusedError,
} from './smgr-error.js';
export type { SmgrErrorOptions, ConfigErrorDetail } from './smgr-error.js';
