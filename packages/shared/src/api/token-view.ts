/** What /v1/tokens and GET /v1/audit answer (admin), for the controller that serves them and the CLI that prints them. */

/** API roles, each allowed what the ones before it are: viewer < operator < admin. */
export type ApiRole = 'viewer' | 'operator' | 'admin';

/** A token as listed (never its secret or hash); times ISO. */
export interface TokenView {
  name: string;
  role: ApiRole;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** POST /v1/tokens: the token and its secret, in this answer only. */
export interface CreatedTokenView extends TokenView {
  token: string;
}

/** DELETE /v1/tokens/:name. */
export interface TokenRevokeView {
  name: string;
  revokedAt: string;
}

/** How an audited request ended. */
export type AuditOutcome = 'ok' | 'partial' | 'failed' | 'rejected' | 'denied' | 'unauthenticated' | 'error';

/** One row of the audit trail (smgr_audit) as GET /v1/audit shows it, newest first. */
export interface AuditRecordView {
  id: number;
  /** ISO. */
  at: string;
  /** Token name; null when the caller did not authenticate. */
  tokenName: string | null;
  role: string | null;
  /** Stable action name, e.g. "rollout.start", "alarm.raise". */
  action: string;
  /** What it acted on, e.g. "service:web", "rollout:12", "process:3". */
  target: string;
  outcome: AuditOutcome;
  statusCode: number;
  remoteAddr: string | null;
  detail?: unknown;
}
