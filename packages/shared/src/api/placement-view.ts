/** What /v1/placements answers, for the controller that serves it and the CLI that prints it. */

/** An smgr_placement row with its process's name. */
export interface PlacementView {
  processId: number;
  processName: string;
  hostId: string;
  /** The service the agent repairs for it; null: the process name. */
  service: string | null;
}

/** POST /v1/placements: the row, whether it is new, and a warning when no connected agent manages the service on that host. */
export interface PlaceResultView {
  placement: PlacementView;
  created: boolean;
  warning?: string;
}
