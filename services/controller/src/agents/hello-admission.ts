import type { PeerCertificate } from 'node:tls';
import type { AgentMessage } from '@smgr/shared';
import { RefusalCode } from '@smgr/shared';
import { validateHello } from './validate-agent-input.js';

export interface HelloContext {
  /** The controller is stopping: agents go to the next address at once. */
  draining: boolean;
  /** mTLS: the certificate's CN must be the Hello's host id. */
  requirePeerIdentity: boolean;
  /** The peer's certificate as gRPC reports it (absent over plaintext). */
  certificate: PeerCertificate | undefined;
  /** Revocation and CA checks of the certificate (ServerTls.agentProblem): a reason to refuse, or null. */
  checkCertificate?: (der: Buffer | undefined) => string | null;
}

export interface HelloRefusal {
  code: RefusalCode;
  message: string;
  /** Logged with the refusal (bounded: the host id is cut to 255 characters). */
  context: Record<string, unknown>;
}

/**
 * Why the first message of a stream cannot open a session, or null when it
 * can: it must be a valid Hello, from the host its certificate names, with a
 * certificate that is not refused, to a controller that is not draining.
 */
export function helloRefusal(msg: AgentMessage, ctx: HelloContext): HelloRefusal | null {
  if (msg.msg.case !== 'hello') return { code: RefusalCode.HELLO_REQUIRED, message: 'the first message must be Hello', context: { got: msg.msg.case } };
  const hello = msg.msg.value;
  if (ctx.draining) {
    return {
      code: RefusalCode.DRAINING,
      message: 'this controller is stopping; try the next controller address',
      context: { hostId: hello.hostId.slice(0, 255) },
    };
  }
  const problem = validateHello(hello);
  if (problem) return { code: RefusalCode.BAD_HELLO, message: problem, context: {} };
  if (ctx.requirePeerIdentity) {
    const cn = ctx.certificate?.subject?.CN;
    if (cn !== hello.hostId) {
      return { code: RefusalCode.IDENTITY_MISMATCH, message: `certificate is for ${JSON.stringify(cn ?? null)}, not ${hello.hostId}`, context: {} };
    }
  }
  const certificateProblem = ctx.checkCertificate?.(ctx.certificate?.raw);
  if (certificateProblem) return { code: RefusalCode.CERT_REFUSED, message: certificateProblem, context: { hostId: hello.hostId } };
  return null;
}
