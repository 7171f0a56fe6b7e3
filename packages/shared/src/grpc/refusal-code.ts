/**
 * The codes of a controller's Refusal (proto/smgr/v1/agent.proto), for the
 * controller that sends them and the agent that acts on them. A string on the
 * wire, not a proto enum, so that an agent reads the refusals of a newer or
 * older controller (a code it does not know: it backs off and retries).
 */
export const RefusalCode = {
  /** The first message of a stream was not a Hello. */
  HELLO_REQUIRED: 'HELLO_REQUIRED',
  /** No Hello within the controller's time for it. */
  HELLO_TIMEOUT: 'HELLO_TIMEOUT',
  /** The Hello itself was invalid (its problem is the message). */
  BAD_HELLO: 'BAD_HELLO',
  /** A frame that does not decode, or breaks the protocol's bounds. */
  BAD_FRAME: 'BAD_FRAME',
  /** The host id of the Hello is not the one the client certificate names: permanent until the config changes. */
  IDENTITY_MISMATCH: 'IDENTITY_MISMATCH',
  /** The client certificate is revoked, expired or not from the CA. */
  CERT_REFUSED: 'CERT_REFUSED',
  /** A newer connection from the same host took this one's place. */
  REPLACED: 'REPLACED',
  /** The controller is stopping: connect to another one. */
  DRAINING: 'DRAINING',
  /** A standby controller (sent by controllers before active-active): connect to another one. */
  NOT_ACTIVE: 'NOT_ACTIVE',
  /** The controller holds more than its share of agents: go back to the first choice. */
  REBALANCE: 'REBALANCE',
} as const;

export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

/**
 * Refusals that say "this controller will not take you now, another will": an
 * agent moves on to its next controller at once instead of backing off.
 */
export const MOVE_REFUSALS: ReadonlySet<string> = new Set([RefusalCode.NOT_ACTIVE, RefusalCode.DRAINING, RefusalCode.REBALANCE]);
