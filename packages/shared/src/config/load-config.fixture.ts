/**
 * What the loadConfig tests share (load-config.test.ts and
 * load-config-problems.test.ts). Test code only: tsconfig.json leaves
 * *.fixture.ts out of dist.
 */
import { thrownBy, useIniDir, type IniDir } from '@smgr/testing';
import { ConfigError } from '../errors/index.js';
import { loadConfig, type LoadConfigOptions, type SmgrConfig } from './index.js';

/** A [tls] section that lets a config without certificates validate. */
export const INSECURE = '[tls]\ninsecure = true\n';

/** The ConfigError `fn` throws (the test fails if it throws nothing else). */
export const configError = (fn: () => unknown): ConfigError => thrownBy(fn, ConfigError);

/**
 * A temp dir for the test file's INI files (its before/after hooks are
 * registered where this is called) and `load`, which writes `text` there and
 * loads it with no environment unless `opts` gives one.
 */
export function useConfigFiles(): { dir: IniDir; load: (text: string, opts?: Omit<LoadConfigOptions, 'file'>) => SmgrConfig } {
  const dir = useIniDir('smgr-config-');
  return { dir, load: (text, opts = {}) => loadConfig({ env: {}, ...opts, file: dir.write(text) }) };
}
