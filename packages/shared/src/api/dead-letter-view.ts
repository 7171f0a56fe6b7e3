/** A notification that could not be delivered after every attempt (or was refused for good): GET /v1/notify/dead-letters, for the controller that serves it and the CLI that prints it. */
export interface DeadLetterView {
  id: string;
  receiver: string;
  status: string;
  title: string;
  count: number;
  attempts: number;
  error: string;
  failedAt: string | null;
}
