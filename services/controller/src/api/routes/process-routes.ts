import type { FastifyInstance } from 'fastify';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { NotFoundError, type AlarmChangeView, type ProcessView } from '@smgr/shared';
import type { ApiDeps } from '../api-types.js';
import { targetFrom } from './audit-target.js';
import { ApiError } from '../http-errors.js';
import { insertProcess, nextProcessId, setAlarms as writeAlarms } from '../../alarms/alarm-store.js';

const PROCESS_SQL = `SELECT p.process_id, p.process_name, s.alarma, s.sound, s.notes,
       i.id AS incident_id, i.state AS incident_state, i.host_id, i.attempts, i.last_message
  FROM PROCESE p
  JOIN STATUS_PROCESS s ON s.process_id = p.process_id
  LEFT JOIN smgr_incidents i ON i.open_key = p.process_id`;

function toView(r: RowDataPacket): ProcessView {
  return {
    processId: Number(r.process_id),
    name: String(r.process_name ?? ''),
    alarma: Number(r.alarma),
    sound: Number(r.sound),
    notes: (r.notes as string | null) ?? null,
    incident:
      r.incident_id === null
        ? null
        : {
            id: Number(r.incident_id),
            state: r.incident_state as string,
            hostId: (r.host_id as string | null) ?? null,
            attempts: Number(r.attempts),
            lastMessage: (r.last_message as string | null) ?? null,
          },
  };
}

interface AlarmBody {
  processIds?: number[];
  names?: string[];
  all?: boolean;
}

const alarmBodySchema = {
  type: 'object',
  additionalProperties: false,
  description: 'exactly one of processIds, names, all',
  properties: {
    processIds: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, maxItems: 10_000 },
    names: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 100 }, minItems: 1, maxItems: 10_000 },
    all: { type: 'boolean', enum: [true] },
  },
} as const;

/**
 * GET /v1/processes and /v1/alarms (viewer); POST /v1/alarms/raise and
 * /v1/alarms/clear (operator): what seed 002's test menu does, through the
 * same STATUS_PROCESS.alarma flag every legacy writer uses.
 */
export function registerProcessRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/v1/processes',
    { config: { role: 'viewer' }, schema: { summary: 'every monitored process (PROCESE + STATUS_PROCESS) and its open incident' } },
    async (): Promise<{ processes: ProcessView[] }> => {
      const [rows] = await deps.pool.query<RowDataPacket[]>(`${PROCESS_SQL} ORDER BY p.process_id`);
      return { processes: rows.map(toView) };
    },
  );

  app.get(
    '/v1/alarms',
    { config: { role: 'viewer' }, schema: { summary: 'processes in alarm (alarma = 1)' } },
    async (): Promise<{ alarms: ProcessView[] }> => {
      const [rows] = await deps.pool.query<RowDataPacket[]>(`${PROCESS_SQL} WHERE s.alarma = 1 ORDER BY p.process_id`);
      return { alarms: rows.map(toView) };
    },
  );

  app.post<{ Body: { name: string; processId?: number } }>(
    '/v1/processes',
    {
      config: {
        role: 'operator',
        action: 'process.add',
        target: targetFrom<{ name: string }>('body', (b) => `process:${b.name ?? '?'}`),
      },
      schema: {
        summary: 'add a monitored process: a PROCESE row and its STATUS_PROCESS row (alarma 0); 409 when the name or id exists',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: {
              type: 'string',
              minLength: 1,
              maxLength: 100,
              // Printable, not blank: the name is shown, logged and matched against the agents' [process.NAME].
              pattern: '^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$',
              description: 'PROCESE.process_name (at most 100 characters, no control characters): the service name, or name@host',
            },
            processId: { type: 'integer', minimum: 1, maximum: 2_147_483_647, description: 'default: the highest id + 1' },
          },
        },
      },
    },
    async (req, reply): Promise<ProcessView> => {
      const added = await addProcess(deps, req.body.name, req.body.processId);
      req.auditNote = { ...req.auditNote, target: `process:${added.processId}`, detail: { name: added.name } };
      void reply.code(201);
      return added;
    },
  );

  for (const [verb, alarma] of [
    ['raise', 1],
    ['clear', 0],
  ] as const) {
    app.post<{ Body: AlarmBody }>(
      `/v1/alarms/${verb}`,
      {
        config: { role: 'operator', action: `alarm.${verb}`, target: targetFrom<AlarmBody>('body', alarmTarget) },
        schema: {
          summary: verb === 'raise' ? 'set processes in alarm (alarma = 1); smgr repairs them' : 'reset alarms (alarma = 0)',
          description: '`changed` counts the rows whose alarma moved (and `processes` lists them); `matched` every row named.',
          body: alarmBodySchema,
        },
      },
      async (req): Promise<AlarmChangeView> => {
        const body = req.body;
        const given = [body.processIds, body.names, body.all].filter((x) => x !== undefined).length;
        if (given !== 1) {
          throw new ApiError(400, 'INVALID_REQUEST', 'give exactly one of processIds, names or all: true', {
            context: { field: 'processIds' },
          });
        }
        const { matched, changed } = await setAlarms(deps, body, alarma);
        req.auditNote = { ...req.auditNote, detail: { processIds: changed.map((p) => p.processId), matched } };
        return { changed: changed.length, matched, processes: changed };
      },
    );
  }
}

/**
 * Adds a monitored process: a PROCESE row and its STATUS_PROCESS row (alarma
 * 0), as seed 002's schema wants them. The id is the one given or the next
 * free one. A name already in PROCESE is refused (409): placement and repair
 * go by name.
 */
async function addProcess(deps: ApiDeps, name: string, wantedId: number | undefined): Promise<ProcessView> {
  const c: PoolConnection = await deps.pool.getConnection();
  try {
    await c.beginTransaction();
    // Locking reads: two adds of one name, or of the next id, wait for each other instead of both passing.
    const [same] = await c.query<RowDataPacket[]>('SELECT process_id FROM PROCESE WHERE process_name = ? FOR UPDATE', [name]);
    if (same.length > 0) {
      throw new ApiError(409, 'PROCESS_EXISTS', `a process named ${JSON.stringify(name)} exists already (id ${Number(same[0]!.process_id)})`, {
        context: { name },
      });
    }
    let id = wantedId;
    if (id === undefined) {
      id = await nextProcessId(c);
    } else {
      const [taken] = await c.query<RowDataPacket[]>('SELECT process_name FROM PROCESE WHERE process_id = ? FOR UPDATE', [id]);
      if (taken.length > 0) {
        throw new ApiError(409, 'PROCESS_EXISTS', `process id ${id} is taken (by ${JSON.stringify(String(taken[0]!.process_name))})`, {
          context: { processIds: [id] },
        });
      }
    }
    await insertProcess(c, id, name, { alarma: 0, notes: null });
    await c.commit();
    return { processId: id, name, alarma: 0, sound: 0, notes: null, incident: null };
  } catch (err) {
    await c.rollback().catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

function alarmTarget(body: Partial<AlarmBody>): string {
  if (body.all === true) return 'process:*';
  if (body.processIds) return `process:${body.processIds.join(',')}`;
  if (body.names) return `process:${body.names.join(',')}`;
  return 'process:?';
}

/**
 * Sets alarma on the named rows in one transaction; unknown ids or names
 * change nothing (404). `changed` holds only the rows whose alarma moved
 * (clearing a row not in alarm is no change); `matched` counts every row named.
 */
async function setAlarms(deps: ApiDeps, body: AlarmBody, alarma: 0 | 1): Promise<{ matched: number; changed: ProcessView[] }> {
  const c: PoolConnection = await deps.pool.getConnection();
  try {
    await c.beginTransaction();
    let rows: RowDataPacket[];
    if (body.all === true) {
      [rows] = await c.query<RowDataPacket[]>(`${PROCESS_SQL} ORDER BY p.process_id FOR UPDATE`);
    } else if (body.processIds) {
      const ids = [...new Set(body.processIds)];
      [rows] = await c.query<RowDataPacket[]>(`${PROCESS_SQL} WHERE p.process_id IN (?) ORDER BY p.process_id FOR UPDATE`, [ids]);
      const found = new Set(rows.map((r) => Number(r.process_id)));
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length > 0) {
        throw new NotFoundError(`no process with id ${missing.join(', ')} (PROCESE + STATUS_PROCESS)`, { context: { processIds: missing } });
      }
    } else {
      const names = [...new Set(body.names ?? [])];
      [rows] = await c.query<RowDataPacket[]>(`${PROCESS_SQL} WHERE p.process_name IN (?) ORDER BY p.process_id FOR UPDATE`, [names]);
      const found = new Set(rows.map((r) => String(r.process_name)));
      const missing = names.filter((n) => !found.has(n));
      if (missing.length > 0) throw new NotFoundError(`no process named ${missing.map((n) => JSON.stringify(n)).join(', ')}`);
    }
    const moving = rows.filter((r) => Number(r.alarma) !== alarma);
    const ids = moving.map((r) => Number(r.process_id));
    await writeAlarms(c, ids, alarma);
    await c.commit();
    return { matched: rows.length, changed: moving.map((r) => ({ ...toView(r), alarma })) };
  } catch (err) {
    await c.rollback().catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
