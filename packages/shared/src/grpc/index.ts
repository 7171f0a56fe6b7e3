export {
  agentServiceDefinition,
  agentServiceServerDefinition,
  undecodableFrameReason,
  createAgentServiceClient,
  serverChannelOptions,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
} from './agent-service.js';
export type {
  AgentStream,
  ControllerStream,
  AgentServiceHandlers,
  AgentServiceClient,
} from './agent-service.js';
export { serverCredentials, channelCredentials, readPem } from './tls.js';
export { watchTlsHandshakeFailures, type TlsHandshakeFailure } from './tls-failures.js';
export type { TlsSettings } from './tls.js';
export { routeGrpcLogs } from './grpc-log.js';
