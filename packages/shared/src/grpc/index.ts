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
export { serverCredentials, channelCredentials, readPem, loadTlsMaterial, ServerTls, type TlsMaterial } from './tls.js';
export { peerCertificateProblem, certificateSha256, EKU_CLIENT_AUTH, EKU_SERVER_AUTH, type PeerPolicy, type PeerRole } from './peer-policy.js';
export { normalizeSerial, certificatesFromPem } from './pem.js';
export type { RevocationList } from './revocation-list.js';
export { loadCrlSupport } from './crl-support.js';
export { watchTlsHandshakeFailures, type TlsHandshakeFailure } from './tls-failures.js';
export type { TlsSettings } from './tls.js';
export { routeGrpcLogs } from './grpc-log.js';
export { AgentEventKind } from './agent-event-kind.js';
export { MOVE_REFUSALS, RefusalCode } from './refusal-code.js';
