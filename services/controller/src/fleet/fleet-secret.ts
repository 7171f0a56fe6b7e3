import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import type { DbPool } from '../db/pool.js';

/** Bytes of a new fleet secret. */
const SECRET_BYTES = 32;

/**
 * smgr_fleet_secrets (migration 0011): secrets every controller of a fleet
 * shares, by name. The first controller to start creates one with crypto
 * random bytes (INSERT IGNORE: concurrent starts agree on the first row);
 * every controller reads it at start. Never logged, never returned by the API.
 */
export async function loadFleetSecret(pool: DbPool, name: string): Promise<Buffer> {
  await pool.query('INSERT IGNORE INTO smgr_fleet_secrets (name, secret, created_at) VALUES (?, ?, NOW(3))', [name, randomBytes(SECRET_BYTES)]);
  const [rows] = await pool.query<RowDataPacket[]>('SELECT secret FROM smgr_fleet_secrets WHERE name = ?', [name]);
  const secret = rows[0]?.secret as Buffer | undefined;
  if (!Buffer.isBuffer(secret) || secret.length < 16) throw new Error(`fleet secret ${name} is missing or too short in smgr_fleet_secrets`);
  return secret;
}

/**
 * HMAC-SHA-256 of `fields` under `secret`, hex. The fields are encoded as a
 * JSON array (order fixed by the caller, strings escaped), so no two
 * different field lists encode alike.
 */
export function sign(secret: Buffer, fields: readonly (string | number)[]): string {
  return createHmac('sha256', secret).update(JSON.stringify(fields)).digest('hex');
}

/** Whether `signature` is sign(secret, fields), compared in constant time. */
export function verify(secret: Buffer, fields: readonly (string | number)[], signature: unknown): boolean {
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return false;
  return timingSafeEqual(Buffer.from(sign(secret, fields), 'hex'), Buffer.from(signature, 'hex'));
}
