import type { PoolConnection, RowDataPacket } from 'mysql2/promise';

/**
 * The seed tables PROCESE (what is monitored) and STATUS_PROCESS (its alarm
 * and note), which legacy tools also read and write: the one module in the
 * controller that writes them (docs/architecture.md, "Table owners"). Every
 * function takes the caller's connection, so a write joins the caller's
 * transaction (a repair outcome, an agent event, an API request).
 */
type Queryable = Pick<PoolConnection, 'query'>;

/** A new PROCESE row and its STATUS_PROCESS row. */
export async function insertProcess(c: Queryable, processId: number, name: string, status: { alarma: 0 | 1; notes: string | null }): Promise<void> {
  await c.query('INSERT INTO PROCESE (process_id, process_name) VALUES (?, ?)', [processId, name]);
  await c.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (?, ?, 0, ?)', [processId, status.alarma, status.notes]);
}

/** The next free process id (max + 1), locking PROCESE's rows until the transaction ends. */
export async function nextProcessId(c: Queryable): Promise<number> {
  const [rows] = await c.query<RowDataPacket[]>('SELECT COALESCE(MAX(process_id), 0) + 1 AS next FROM PROCESE FOR UPDATE');
  return Number(rows[0]!.next);
}

/** Sets the note of one row, alarm untouched. */
export async function writeNote(c: Queryable, processId: number, note: string): Promise<void> {
  await c.query('UPDATE STATUS_PROCESS SET notes = ? WHERE process_id = ?', [note, processId]);
}

/**
 * Raises the alarm of one row (creating its STATUS_PROCESS row if missing);
 * a row already in alarm keeps its note (a repair's or the breaker's, newer
 * news than "still failing").
 */
export async function raiseAlarm(c: Queryable, processId: number, note: string): Promise<void> {
  await c.query(
    `INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (?, 1, 0, ?)
     ON DUPLICATE KEY UPDATE notes = IF(alarma = 1, notes, VALUES(notes)), alarma = 1`,
    [processId, note],
  );
}

/** Sets alarma on the given rows. */
export async function setAlarms(c: Queryable, processIds: readonly number[], alarma: 0 | 1): Promise<void> {
  if (processIds.length > 0) await c.query('UPDATE STATUS_PROCESS SET alarma = ? WHERE process_id IN (?)', [alarma, processIds]);
}

/** A CASE expression over process_id and its parameters (outcome-store's batched writes). */
export interface CaseSql {
  sql: string;
  params: unknown[];
}

/** Batched update of notes (and, when given, alarma) over `processIds`, each row its own value. */
export async function writeOutcomes(c: Queryable, processIds: readonly number[], notes: CaseSql, alarma: CaseSql | null): Promise<void> {
  await c.query(`UPDATE STATUS_PROCESS SET ${alarma ? `alarma = ${alarma.sql}, ` : ''}notes = ${notes.sql} WHERE process_id IN (?)`, [
    ...(alarma ? alarma.params : []),
    ...notes.params,
    processIds,
  ]);
}
