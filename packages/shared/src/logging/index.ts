export { createLogger, loggerFromConfig, closeLogger } from './create-logger.js';
export type { CreateLoggerOptions, Logger } from './create-logger.js';
