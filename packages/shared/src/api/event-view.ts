/** One smgr_events row as GET /v1/events and the console feed show it; `detail` parsed from its JSON (argv and output tails only for operators and admins). */
export interface EventView {
  id: number;
  /** ISO. */
  at: string;
  kind: string;
  processId: number | null;
  incidentId: number | null;
  hostId: string | null;
  service: string | null;
  jobId: string | null;
  outcome: string | null;
  strategy: string | null;
  durationMs: number | null;
  message: string;
  detail: unknown;
}
