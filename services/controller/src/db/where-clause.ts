/** One filter condition: SQL holding one `?`, and its value (undefined: the filter is not set). */
export type WhereCondition = readonly [sql: string, value: unknown];

/**
 * The WHERE clause of a list query's optional filters: the conditions whose
 * value is set, ANDed in order, then `always` (conditions without an
 * argument); '' when none applies. `args` are the values for its `?`s.
 */
export function whereClause(conditions: readonly WhereCondition[], always: readonly string[] = []): { sql: string; args: unknown[] } {
  const set = conditions.filter(([, value]) => value !== undefined);
  const parts = [...set.map(([sql]) => sql), ...always];
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', args: set.map(([, value]) => value) };
}
