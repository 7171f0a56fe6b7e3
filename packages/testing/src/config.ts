/**
 * Configs for tests, written the way an operator writes them: INI text from
 * nested sections, one builder per daemon (controller, agent), and a temp
 * directory to write INI files into and load them back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { MariaDbInstance } from './harness/mariadb.js';
import type { RedisInstance } from './harness/redis.js';
import { uniquePrefix } from './harness/unique-name.js';

export type Section = Record<string, string | number | boolean>;
export type Sections = Record<string, Section>;

/** INI text from nested sections; values are written as given. */
export function ini(sections: Sections): string {
  return Object.entries(sections)
    .map(
      ([name, keys]) =>
        `[${name}]\n${Object.entries(keys)
          .map(([k, v]) => `${k} = ${v}`)
          .join('\n')}\n`,
    )
    .join('\n');
}

/** `base` with each section of `over` merged key by key (a section only in `over` is added). */
export function mergeSections(base: Sections, over: Sections = {}): Sections {
  const out: Sections = { ...base };
  for (const [section, keys] of Object.entries(over)) out[section] = { ...out[section], ...keys };
  return out;
}

/** The `[database]` section for a test database on a throwaway server. */
export function databaseSection(mysql: MariaDbInstance, database: string): Section {
  return { host: mysql.host, port: mysql.port, user: mysql.user, password: mysql.password, database };
}

/** The `[database]` settings as the controller's pool takes them (SmgrConfig['database'] without TLS). */
export function databaseSettings(mysql: MariaDbInstance, database: string, connectionLimit = 2) {
  return { host: mysql.host, port: mysql.port, user: mysql.user, password: mysql.password, database, connectionLimit, socket: undefined };
}

export interface ControllerConfigOptions {
  mysql: MariaDbInstance;
  redis: RedisInstance;
  /** The test database's name. */
  database: string;
  grpcPort: number;
  /** Controller id (default ctl-test). */
  id?: string;
  /** Redis key prefix (default a unique one). */
  prefix?: string;
  /** Sections merged over the defaults. */
  sections?: Sections;
}

/** A controller config: fast polls, insecure gRPC on loopback, debug logs. */
export function controllerSections(o: ControllerConfigOptions): Sections {
  return mergeSections(
    {
      database: databaseSection(o.mysql, o.database),
      monitor: { check_interval: 0.1, retry_delay: 60 },
      redis: { url: o.redis.url, prefix: o.prefix ?? uniquePrefix('t') },
      controller: { id: o.id ?? 'ctl-test', grpc_listen: `127.0.0.1:${o.grpcPort}`, heartbeat_interval: 1, agent_ttl: 5 },
      tls: { insecure: true },
      logging: { level: 'debug' },
    },
    o.sections,
  );
}

export interface AgentConfigOptions {
  /** host:port of the controller. */
  controller: string;
  hostId: string;
  stateDir: string;
  /** `[process.NAME]` sections by service name. */
  services?: Sections;
  /** Sections merged over the defaults. */
  sections?: Sections;
}

/** An agent config: insecure gRPC, quick reconnects, debug logs. */
export function agentSections(o: AgentConfigOptions): Sections {
  const services = Object.fromEntries(Object.entries(o.services ?? {}).map(([name, keys]) => [`process.${name}`, keys]));
  return mergeSections(
    {
      agent: { controller: o.controller, host_id: o.hostId, state_dir: o.stateDir, reconnect_max_delay: 1 },
      tls: { insecure: true },
      logging: { level: 'debug' },
      ...services,
    },
    o.sections,
  );
}

/** Writes `text` to `dir/file`; returns the path. */
export async function writeConfig(dir: string, file: string, text: string): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, text);
  return path;
}

/** A temp directory for the config files of one test file or suite. */
export interface IniDir {
  /** The directory (set once the `before` hook ran). */
  readonly path: string;
  /** Writes `text` to a new file (or to `name`) in the directory; returns its path. */
  write(text: string, name?: string): string;
}

/**
 * Registers before/after hooks (file level, or the enclosing describe) that
 * make and remove a temp directory for INI files, for tests that write a
 * config and load it.
 */
export function useIniDir(prefix = 'smgr-config-'): IniDir {
  let dir = '';
  let n = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    get path() {
      return dir;
    },
    write(text: string, name?: string): string {
      if (!dir) throw new Error('useIniDir(): write() before the before hook ran');
      n += 1;
      const file = join(dir, name ?? `config-${n}.ini`);
      writeFileSync(file, text);
      return file;
    },
  };
}
