/** One versioned schema change. Statements run in order; each must be idempotent. */
export interface Migration {
  name: string;
  statements: string[];
  indexes?: { table: string; name: string; columns: string }[];
  /** Columns added to an existing table (ALTER TABLE … ADD COLUMN), unless already there. */
  columns?: { table: string; name: string; definition: string }[];
}
