/**
 * The text of every NNNN-name.sql migration file, by migration name, for a
 * controller that runs without the files beside it. Empty in the source:
 * run from a checkout, sql-migration.ts reads the files. `npm run build`
 * replaces the compiled module with one that holds their text
 * (scripts/embed-migration-sql.mjs), so dist/ and the shipped bundle carry
 * their schema with them.
 */
export const embeddedSql: Readonly<Record<string, string>> = {};
