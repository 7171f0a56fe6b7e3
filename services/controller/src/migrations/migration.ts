/** One versioned schema change. Statements run in order; each must be idempotent. */
export interface Migration {
  name: string;
  statements: string[];
  indexes?: { table: string; name: string; columns: string }[];
}
