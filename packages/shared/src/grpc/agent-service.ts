/**
 * grpc-js glue for smgr.v1.AgentService. protoc-gen-es generates messages
 * only, so the service definition and the (de)serializers live here, and
 * nowhere else.
 */
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AgentMessageSchema, ControllerMessageSchema, type AgentMessage, type ControllerMessage } from '../gen/smgr/v1/agent_pb.js';

/** Largest frame either side accepts; results carry bounded output tails. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export const PROTOCOL_VERSION = 1;

export const agentServiceDefinition = {
  connect: {
    path: '/smgr.v1.AgentService/Connect',
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: AgentMessage): Buffer => Buffer.from(toBinary(AgentMessageSchema, m)),
    requestDeserialize: (b: Buffer): AgentMessage => fromBinary(AgentMessageSchema, b),
    responseSerialize: (m: ControllerMessage): Buffer => Buffer.from(toBinary(ControllerMessageSchema, m)),
    responseDeserialize: (b: Buffer): ControllerMessage => fromBinary(ControllerMessageSchema, b),
    originalName: 'Connect',
  },
} satisfies grpc.ServiceDefinition;

const undecodable = new WeakMap<AgentMessage, string>();

/**
 * The definition the controller serves. Its decoder never throws: a frame
 * that is not an AgentMessage arrives as an empty message for which
 * undecodableFrameReason() says why, so the controller can log the peer and
 * refuse it in protocol terms (grpc-js alone would only cancel the call).
 * Frames over MAX_MESSAGE_BYTES never get here: grpc-js refuses them by their
 * length prefix, before buffering them.
 */
export const agentServiceServerDefinition = {
  connect: {
    ...agentServiceDefinition.connect,
    requestDeserialize: (b: Buffer): AgentMessage => {
      try {
        return fromBinary(AgentMessageSchema, b);
      } catch (err) {
        const placeholder = create(AgentMessageSchema, {});
        undecodable.set(placeholder, `undecodable ${b.length}-byte frame: ${(err as Error).message}`.slice(0, 200));
        return placeholder;
      }
    },
  },
} satisfies grpc.ServiceDefinition;

/** Why a message from agentServiceServerDefinition could not be decoded; undefined for a real message. */
export function undecodableFrameReason(m: AgentMessage): string | undefined {
  return undecodable.get(m);
}

/** The server side of one agent's stream. */
export type AgentStream = grpc.ServerDuplexStream<AgentMessage, ControllerMessage>;
/** The agent side of its stream. */
export type ControllerStream = grpc.ClientDuplexStream<AgentMessage, ControllerMessage>;

export interface AgentServiceHandlers extends grpc.UntypedServiceImplementation {
  connect: grpc.handleBidiStreamingCall<AgentMessage, ControllerMessage>;
}

export interface AgentServiceClient extends grpc.Client {
  connect(metadata?: grpc.Metadata, options?: grpc.CallOptions): ControllerStream;
}

const ClientCtor = grpc.makeGenericClientConstructor(agentServiceDefinition, 'AgentService');

/** Opens a client channel to one controller address. */
export function createAgentServiceClient(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}): AgentServiceClient {
  return new ClientCtor(address, credentials, {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    // Agents sit behind NAT and idle firewalls: keep the stream visibly alive.
    'grpc.keepalive_time_ms': 15_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    // Reconnection pacing is ours (jittered backoff in the agent), not the channel's.
    'grpc.initial_reconnect_backoff_ms': 500,
    'grpc.max_reconnect_backoff_ms': 5_000,
    ...options,
  }) as unknown as AgentServiceClient;
}

/** Channel options the controller's server uses. */
export const serverChannelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.max_concurrent_streams': 1_000,
};
