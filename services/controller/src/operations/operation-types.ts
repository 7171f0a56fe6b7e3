import type { HostOperationState, OperationName, OperationState } from '@smgr/shared';

// The types are the API's (@smgr/shared, shared with the CLI); the lists below feed the OpenAPI enums.
export type { HostOperationState, HostOperationView, OperationName, OperationState, OperationView } from '@smgr/shared';

export const OPERATION_NAMES: readonly OperationName[] = ['restart', 'start', 'stop', 'status', 'update', 'action'];
export const OPERATION_STATES: readonly OperationState[] = ['running', 'succeeded', 'failed', 'interrupted'];
export const HOST_OPERATION_STATES: readonly HostOperationState[] = ['pending', 'running', 'succeeded', 'failed', 'refused', 'unavailable', 'interrupted'];
