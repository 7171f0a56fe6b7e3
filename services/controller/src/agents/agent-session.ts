import type { AgentStream } from '@smgr/shared';

/** One connected agent's stream. */
export class AgentSession {
  lastSeen = Date.now();
  closed = false;
  /** Hello.preferred_address: false when the agent came here because its first-choice controller was down. */
  preferredAddress = true;
  constructor(
    readonly hostId: string,
    readonly call: AgentStream,
  ) {}

  /** Writes unless closed; false when the message could not be written. */
  send(msg: Parameters<AgentStream['write']>[0]): boolean {
    if (this.closed) return false;
    try {
      this.call.write(msg);
      return true;
    } catch {
      return false;
    }
  }
}
