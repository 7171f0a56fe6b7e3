export {
  agentServiceDefinition,
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
export { serverCredentials, channelCredentials } from './tls.js';
export type { TlsSettings } from './tls.js';
