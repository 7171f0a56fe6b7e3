/** What GET /v1/status answers (the fleet overview), for the controller that serves it and the CLI that prints it. */
import type { RolloutSummaryView } from './rollout-view.js';

/** An active rollout in the overview. */
export type ActiveRolloutView = Pick<RolloutSummaryView, 'id' | 'service' | 'version' | 'state' | 'hostCounts'>;

export interface StatusView {
  controllerId: string;
  version: string;
  hosts: { total: number; connected: number };
  /** Processes in alarm (STATUS_PROCESS.alarma = 1). */
  alarms: number;
  openIncidents: number;
  activeRollouts: ActiveRolloutView[];
}
