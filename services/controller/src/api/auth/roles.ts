import type { ApiRole } from '@smgr/shared';

/** API roles, each allowed what the ones before it are: viewer < operator < admin (the API's ApiRole, shared with the CLI). */
export type Role = ApiRole;

export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** Whether `role` may do what `needed` may. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
