import type { Migration } from './migration.js';
import { initial } from './0001-initial.js';

/** Every migration, oldest first. Append only; never edit a released one. */
export const migrations: readonly Migration[] = [initial];
export type { Migration } from './migration.js';
