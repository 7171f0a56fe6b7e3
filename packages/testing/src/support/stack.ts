/**
 * A whole smgr stack for one test: its own database (seed schema), queue
 * prefix and temp dir on shared throwaway MariaDB/Redis servers, a real
 * controller and a real agent, all removed by the test's Cleanup.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import {
  createTestDatabase,
  freePort,
  makeTempDir,
  waitFor,
  type Cleanup,
  type MariaDbInstance,
  type RedisInstance,
  type TestDatabase,
  type ManagedProcess,
} from '../harness/index.js';
import { startAgent, startController, waitForLog } from './smgr.js';
import { agentSections, controllerSections, ini, type Section, type Sections } from '../config.js';

export interface StackOptions {
  /** Agent `[process.NAME]` sections. */
  services: Record<string, Section>;
  hostId?: string;
  /** Extra controller settings by section, merged over the defaults below. */
  controller?: Record<string, Section>;
  /** Write the agent config as JSON (lets service names hold any character). */
  agentJson?: boolean;
  /** Working directory of the agent process. */
  agentCwd?: string;
  /** A command the agent runs under (startAgent's prefix), e.g. unshare for PID 1 of a namespace. */
  agentPrefix?: readonly string[];
  /** Extra `[agent]` settings. */
  agent?: Section;
  /** Extra agent sections ([log_rule.NAME], ...), INI configs only. */
  agentSections?: Record<string, Section>;
}

export interface Stack {
  dir: string;
  db: TestDatabase;
  controller: ManagedProcess;
  agent: ManagedProcess;
  grpcPort: number;
  controllerConfig: string;
  agentConfig: string;
  hostId: string;
  /** Inserts a PROCESE + STATUS_PROCESS row pair. */
  addProcess(processId: number, name: string): Promise<void>;
  setAlarm(processId: number, alarma: 0 | 1): Promise<void>;
  status(processId: number): Promise<{ alarma: number; notes: string | null }>;
  waitForAlarm(processId: number, alarma: 0 | 1, timeoutMs?: number): Promise<{ alarma: number; notes: string | null }>;
}

export async function startStack(cleanup: Cleanup, deps: { mysql: MariaDbInstance; redis: RedisInstance }, opts: StackOptions): Promise<Stack> {
  const tmp = await makeTempDir('stack');
  cleanup.add(() => tmp.remove(), 'temp dir');
  const db = await createTestDatabase(deps.mysql);
  cleanup.add(() => db.drop(), 'test database');
  const grpcPort = await freePort();
  const hostId = opts.hostId ?? 'host-a';
  const controllerConfig = join(tmp.path, 'controller.ini');
  await writeFile(
    controllerConfig,
    ini(controllerSections({ mysql: deps.mysql, redis: deps.redis, database: db.name, grpcPort, ...(opts.controller ? { sections: opts.controller } : {}) })),
  );

  const agentExtra: Sections = { ...(opts.agent ? { agent: opts.agent } : {}), ...(opts.agentSections ?? {}) };
  const agentBase = agentSections({ controller: `127.0.0.1:${grpcPort}`, hostId, stateDir: join(tmp.path, 'agent-state'), sections: agentExtra });
  let agentConfig: string;
  if (opts.agentJson) {
    agentConfig = join(tmp.path, 'agent.json');
    await writeFile(agentConfig, JSON.stringify({ ...agentBase, process: opts.services }, null, 2));
  } else {
    agentConfig = join(tmp.path, 'agent.ini');
    await writeFile(
      agentConfig,
      ini(
        agentSections({ controller: `127.0.0.1:${grpcPort}`, hostId, stateDir: join(tmp.path, 'agent-state'), services: opts.services, sections: agentExtra }),
      ),
    );
  }

  const controller = startController(controllerConfig);
  cleanup.add(() => controller.stop(), 'controller');
  await waitForLog(controller, 'controller running', 30_000);
  const agent = startAgent(agentConfig, 'agent', {
    ...(opts.agentCwd ? { cwd: opts.agentCwd } : {}),
    ...(opts.agentPrefix ? { prefix: opts.agentPrefix } : {}),
  });
  cleanup.add(() => agent.stop(), 'agent');
  await waitForLog(controller, 'agent connected', 20_000, (j) => j.hostId === hostId);

  const status = async (processId: number) => {
    const rows = await db.query<{ alarma: number; notes: string | null }>('SELECT alarma, notes FROM STATUS_PROCESS WHERE process_id = ?', [processId]);
    if (!rows[0]) throw new Error(`no STATUS_PROCESS row ${processId}`);
    return rows[0];
  };
  return {
    dir: tmp.path,
    db,
    controller,
    agent,
    grpcPort,
    controllerConfig,
    agentConfig,
    hostId,
    async addProcess(processId, name) {
      await db.query('INSERT INTO PROCESE (process_id, process_name) VALUES (?, ?)', [processId, name]);
      await db.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (?, 0, 0, NULL)', [processId]);
    },
    async setAlarm(processId, alarma) {
      // Exactly what a legacy writer does.
      await db.query('UPDATE STATUS_PROCESS SET alarma = ? WHERE process_id = ?', [alarma, processId]);
    },
    status,
    waitForAlarm(processId, alarma, timeoutMs = 20_000) {
      return waitFor(
        async () => {
          const s = await status(processId);
          return s.alarma === alarma ? s : null;
        },
        { timeoutMs, intervalMs: 50, message: `STATUS_PROCESS ${processId} alarma=${alarma}` },
      );
    },
  };
}
