import { randomBytes } from 'node:crypto';

function slug(label: string, max: number): string {
  return label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max);
}

/**
 * A BullMQ queue prefix no other test uses, e.g. `smgr-t-alarm-restart-3f9a1c2e`.
 * Only `[a-z0-9-]`, so it is safe inside Redis key patterns (no `:`, `*`, `?`, `[`).
 */
export function uniquePrefix(label: string): string {
  const s = slug(label, 40);
  return `smgr-t-${s ? `${s}-` : ''}${randomBytes(4).toString('hex')}`;
}

/** A database name no other test uses: `smgr_t_<16 hex>` (a valid unquoted identifier). */
export function uniqueDatabaseName(): string {
  return `smgr_t_${randomBytes(8).toString('hex')}`;
}
