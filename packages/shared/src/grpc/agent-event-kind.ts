/**
 * The kinds of AgentEvent (proto/smgr/v1/agent.proto, its `kind` field), for
 * the agent that sends them and the controller that reads them. A string on
 * the wire, not a proto enum, so that agents and controllers of different
 * versions still read each other's events (a kind one side does not know is
 * acknowledged and recorded, not refused).
 */
export const AgentEventKind = {
  /** A watched service failed watch_failures checks in a row (or a log rule raised its alarm): raise the alarm. */
  WATCH_FAILED: 'watch_failed',
  /** The agent restarted a watched service itself (controller unreachable, or watch_repair = agent). */
  AUTONOMOUS_REPAIR: 'autonomous_repair',
  /** A resource rule's limit was exceeded for its checks. */
  RESOURCE_EXCEEDED: 'resource_exceeded',
  /** A resource rule's value stayed below its clear margin again. */
  RESOURCE_CLEARED: 'resource_cleared',
  /** A log rule matched (on_match = event). */
  LOG_MATCH: 'log_match',
} as const;

export type AgentEventKind = (typeof AgentEventKind)[keyof typeof AgentEventKind];
