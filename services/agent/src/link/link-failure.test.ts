import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeLinkFailure } from './link-failure.js';

// The strings are what grpc-js 1.14 reported for each case (see test/agent-link-errors.test.ts for the real thing).
const LAST = 'No connection established. Last error: ';
const NOTE = '. Resolution note: ';
const ADDR = '127.0.0.1:7080';

describe('describeLinkFailure', () => {
  it('says the HTTPS API port does not speak the agent protocol and names controller.grpc_listen', () => {
    const details = `${LAST}Error: 809C8395A67F0000:error:0A000460:SSL routines:ssl3_read_bytes:tlsv1 alert no application protocol:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 120\n${NOTE}`;
    assert.equal(
      describeLinkFailure(details, ADDR, false),
      `${ADDR} does not speak the smgr agent protocol (is agent.controller the gRPC port, controller.grpc_listen?)`,
    );
  });

  it('says a plain HTTP port does not speak the agent protocol', () => {
    assert.match(describeLinkFailure(`${LAST}Protocol error (2026-12-01T15:20:40.652Z)${NOTE}`, ADDR, true), /does not speak the smgr agent protocol/);
  });

  it('says the TLS settings disagree when a TLS agent meets a plaintext server, naming tls.insecure', () => {
    const details = `${LAST}Error: 809C8395A67F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n${NOTE}`;
    const text = describeLinkFailure(details, ADDR, false);
    assert.match(text, /TLS settings of agent and controller disagree/);
    assert.match(text, /tls\.insecure/);
    assert.doesNotMatch(text, /ssl3|deps\/openssl/);
  });

  it('says the TLS settings disagree when a plaintext agent meets a TLS server', () => {
    const text = describeLinkFailure(`${LAST}Failed to connect (2026-12-01T15:20:40.596Z)${NOTE}`, ADDR, true);
    assert.match(text, /TLS settings of agent and controller disagree/);
    assert.match(text, /tls\.insecure = false/);
  });

  it('keeps other reasons, without the wrapping and the empty resolution note', () => {
    assert.equal(describeLinkFailure(`${LAST}Error: connect ECONNREFUSED 127.0.0.1:1${NOTE}`, '127.0.0.1:1', true).includes('Resolution note'), false);
    assert.equal(describeLinkFailure(`${LAST}Error: read ECONNRESET${NOTE}`, ADDR, true), `${ADDR}: read ECONNRESET`);
  });
});
