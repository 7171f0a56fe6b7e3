export { createLogger, loggerFromConfig, closeLogger } from './create-logger.js';
export type { CreateLoggerOptions, LogFormat, Logger } from './create-logger.js';
