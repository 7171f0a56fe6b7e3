/**
 * @smgr/shared — what the controller, the agent and the CLI have in common:
 * config, logging, errors, the generated protocol and its gRPC glue.
 */
export * from './errors/index.js';
export * from './config/index.js';
export * from './logging/index.js';
export * from './command/index.js';
export * from './grpc/index.js';
export * from './gen/smgr/v1/agent_pb.js';
export { runDaemon } from './daemon/run-daemon.js';
export type { Daemon, DaemonContext, DaemonSpec } from './daemon/run-daemon.js';
export { createSdNotifier, watchdogInterval } from './daemon/sd-notify.js';
export type { SdNotifier, SdNotifierOptions } from './daemon/sd-notify.js';
export { SMGR_VERSION } from './version.js';
export * from './files/index.js';
export type { HostUsageView, ServiceUsageView } from './api/usage-view.js';
export type { DeadLetterView } from './api/dead-letter-view.js';
export type { DeadLetterRetryView, FiringAlertView, NotifyTestView } from './api/notify-view.js';
export type { ClaimChangeView, HostClaimView, HostForgetView, HostView } from './api/host-view.js';
export type { StepFailureView } from './api/step-failure-view.js';
export type { HostOperationState, HostOperationView, OperationName, OperationState, OperationView } from './api/operation-view.js';
export type {
  CountOrPercent,
  PausableState,
  RolloutHostState,
  RolloutHostView,
  RolloutJobKind,
  RolloutSpecView,
  RolloutState,
  RolloutSummaryView,
  RolloutView,
} from './api/rollout-view.js';
export type { ActiveRolloutView, StatusView } from './api/status-view.js';
export type { ApiRole, AuditOutcome, AuditRecordView, CreatedTokenView, TokenRevokeView, TokenView } from './api/token-view.js';
export type { PlacementView, PlaceResultView } from './api/placement-view.js';
export type { EventView } from './api/event-view.js';
export type { AlarmChangeView, ProcessIncidentView, ProcessView } from './api/process-view.js';
export { create, toBinary, fromBinary, toJson } from '@bufbuild/protobuf';
export type { MessageInitShape } from '@bufbuild/protobuf';
