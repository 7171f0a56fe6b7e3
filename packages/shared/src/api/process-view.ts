/** What GET /v1/processes, GET /v1/alarms and POST /v1/alarms/raise|clear answer, for the controller that serves them and the CLI that prints them. */

/** smgr's open incident on a process. */
export interface ProcessIncidentView {
  id: number;
  state: string;
  hostId: string | null;
  attempts: number;
  lastMessage: string | null;
}

/** A seed PROCESE/STATUS_PROCESS row with smgr's open incident, if any. */
export interface ProcessView {
  processId: number;
  name: string;
  alarma: number;
  sound: number;
  notes: string | null;
  incident: ProcessIncidentView | null;
}

/** POST /v1/alarms/raise|clear: `changed` rows whose alarma moved (listed in `processes`) of `matched` named. */
export interface AlarmChangeView {
  changed: number;
  matched: number;
  processes: ProcessView[];
}
