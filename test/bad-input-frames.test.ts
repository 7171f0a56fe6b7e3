import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { credentials } from '@grpc/grpc-js';
import {
  AgentMessageSchema,
  ControllerMessageSchema,
  create,
  fromBinary,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  toBinary,
  type ControllerMessage,
} from '@smgr/shared';
import { waitFor } from '@smgr/testing';
import { SimAgents } from '@smgr/testing/sim-agents';
import { assertPairStillRepairs, startLinkedPair, useLinkEnv, type LinkedPair } from './support-agent-link.js';

const link = useLinkEnv('frames', { controllerId: 'ctl-frames', agents: ['real', 'rogue'] });
const { files } = link;
let pair: LinkedPair;

before(async () => {
  await link.ready;
  pair = await startLinkedPair(files, link.env, { controllerId: 'ctl-frames', hostId: 'real', tls: link.pki.tls });
});

/** gRPC framing: compressed flag, 4-byte big-endian length, payload. `declared` may lie about the length. */
function frame(payload: Uint8Array, declared = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declared, 1);
  return Buffer.concat([head, payload]);
}

interface RawReply {
  grpcStatus: string | undefined;
  messages: ControllerMessage[];
}

/**
 * One raw HTTP/2 request on the AgentService path over mTLS (as "rogue", a
 * certificate the CA really issued), writing `chunks` as they are; resolves
 * with the gRPC status and the ControllerMessages that came back.
 */
async function rawCall(chunks: Buffer[], path = '/smgr.v1.AgentService/Connect'): Promise<RawReply> {
  const session = http2.connect(`https://${pair.address}`, {
    ca: readFileSync(link.pki.ca),
    cert: readFileSync(link.pki.cert('rogue')),
    key: readFileSync(link.pki.key('rogue')),
  });
  session.on('error', () => undefined);
  try {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let status: string | undefined;
    let body = Buffer.alloc(0);
    req.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
    req.on('trailers', (h) => (status = (h['grpc-status'] as string | undefined) ?? status));
    req.on('data', (d: Buffer) => (body = Buffer.concat([body, d])));
    req.on('error', () => undefined);
    const done = new Promise<void>((resolve) => {
      req.on('close', () => resolve());
      setTimeout(resolve, 10_000).unref();
    });
    for (const c of chunks) req.write(c);
    await done;
    const messages: ControllerMessage[] = [];
    for (let at = 0; at + 5 <= body.length; ) {
      const len = body.readUInt32BE(at + 1);
      messages.push(fromBinary(ControllerMessageSchema, body.subarray(at + 5, at + 5 + len)));
      at += 5 + len;
    }
    return { grpcStatus: status, messages };
  } finally {
    session.close();
  }
}

const hello = (hostId: string) =>
  frame(
    toBinary(
      AgentMessageSchema,
      create(AgentMessageSchema, { msg: { case: 'hello', value: { hostId, agentVersion: 'raw', protocolVersion: PROTOCOL_VERSION } } }),
    ),
  );
const GARBAGE = frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02, 0x03]));

describe('garbage and oversized frames on the agent port', () => {
  test('an undecodable first frame is refused with BAD_FRAME and logged with the peer', async () => {
    const from = pair.controller.lineCount();
    const reply = await rawCall([GARBAGE]);
    assert.equal(reply.messages[0]?.msg.case, 'refusal');
    assert.equal(reply.messages[0]?.msg.case === 'refusal' && reply.messages[0].msg.value.code, 'BAD_FRAME');
    const line = await pair.controller.waitForLine((_, j) => j?.msg === 'agent refused' && j.code === 'BAD_FRAME', 5_000, 'BAD_FRAME logged', from);
    assert.match(String(line.json?.peer), /127\.0\.0\.1:\d+/);
  });

  test('garbage after a valid Hello drops that session with BAD_FRAME', async () => {
    const from = pair.controller.lineCount();
    const reply = await rawCall([hello('rogue'), GARBAGE]);
    assert.deepEqual(
      reply.messages.map((m) => (m.msg.case === 'refusal' ? `refusal:${m.msg.value.code}` : m.msg.case)),
      ['welcome', 'refusal:BAD_FRAME'],
    );
    await pair.controller.waitForLine((_, j) => j?.msg === 'agent disconnected' && j.hostId === 'rogue', 5_000, 'rogue session dropped', from);
  });

  test('a frame declaring more than MAX_MESSAGE_BYTES is refused by its length prefix, before it is buffered', async () => {
    const from = pair.controller.lineCount();
    const reply = await rawCall([frame(Buffer.alloc(64), 512 * 1024 * 1024)]);
    assert.equal(reply.grpcStatus, '8', 'RESOURCE_EXHAUSTED');
    await pair.controller.waitForLine((_, j) => j?.msg === 'agent stream ended before Hello', 5_000, 'oversized frame logged', from);
  });

  test('a real frame one byte over MAX_MESSAGE_BYTES is refused with RESOURCE_EXHAUSTED', async () => {
    const reply = await rawCall([frame(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x41))]);
    assert.equal(reply.grpcStatus, '8');
  });

  test('a request for a method the controller does not serve gets UNIMPLEMENTED', async () => {
    const reply = await rawCall([GARBAGE], '/smgr.v1.AgentService/Nope');
    assert.equal(reply.grpcStatus, '12');
  });

  test('after fifty hostile streams at once the controller still serves: the real agent stays connected and repairs, new agents connect', async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => rawCall(i % 2 ? [GARBAGE] : [frame(Buffer.alloc(16), MAX_MESSAGE_BYTES * 4)])));
    await assertPairStillRepairs(link.env, pair);
    const sims = new SimAgents({
      address: pair.address,
      credentials: credentials.createSsl(readFileSync(link.pki.ca), readFileSync(link.pki.key('rogue')), readFileSync(link.pki.cert('rogue'))),
      hostIds: ['rogue'],
      reconnect: false,
    });
    files.add(() => sims.stop(), 'sim');
    sims.start();
    await waitFor(() => sims.stats.welcomes === 1, { timeoutMs: 10_000, message: 'a well-behaved agent is welcomed' });
  });
});
