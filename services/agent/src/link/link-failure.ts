/**
 * Why the link to a controller failed, in words that name the setting to
 * fix. grpc-js reports a failed connection as one long string ("No
 * connection established. Last error: Error: 80…:error:0A000460:SSL
 * routines:ssl3_read_bytes:tlsv1 alert no application protocol:../deps/…
 * . Resolution note: "); the causes an operator meets have fixed
 * fingerprints in it.
 */
export function describeLinkFailure(details: string, address: string, insecure: boolean): string {
  const notSmgr = `${address} does not speak the smgr agent protocol (is agent.controller the gRPC port, controller.grpc_listen?)`;
  // A TLS server without HTTP/2 (the HTTPS API), or a plain HTTP/1 server, or an HTTP server that is not gRPC.
  if (/no application protocol|Protocol error|Received HTTP status code/i.test(details)) return notSmgr;
  if (!insecure && /wrong version number|packet length too long|unknown protocol/i.test(details)) {
    return (
      `${address} does not answer with TLS but tls.insecure = false here: the TLS settings of agent and controller disagree; ` +
      'give the controller tls.ca, tls.cert and tls.key (or set tls.insecure = true on both, for a local demo only), ' +
      'or check that agent.controller is the gRPC port (controller.grpc_listen)'
    );
  }
  if (insecure && /Failed to connect/.test(details)) {
    return (
      `${address} closed the plaintext connection, as a TLS server does: the TLS settings of agent and controller disagree; ` +
      'set tls.insecure = false here with tls.ca, tls.cert and tls.key (smgr pki issue DIR HOST_ID), or tls.insecure = true on both for a local demo'
    );
  }
  if (/ECONNREFUSED/.test(details)) return `${address} refused the connection (is the controller running, and is agent.controller its controller.grpc_listen?)`;
  if (/Name resolution failed/.test(details)) return `${address}: host name not found (agent.controller)`;
  if (/certificate|self[- ]signed|unable to verify/i.test(details)) {
    return `${address} presented a certificate this agent does not accept (${plain(details)}): check tls.ca and the controller's tls.cert`;
  }
  return `${address}: ${plain(details)}`;
}

/** grpc-js's text without its wrapping, OpenSSL's error-stack prefix and source locations. */
function plain(details: string): string {
  const text = details
    .replace(/^No connection established\. Last error: /, '')
    .replace(/\. Resolution note: ?$/, '')
    .replace(/^Error: /, '')
    .replace(/[0-9A-F]{8,}:error:[0-9A-F]+:[^:]+:/g, '')
    .replace(/:\.\.\/deps\/openssl\S*/g, '')
    .replace(/ \(\d{4}-\d\d-\d\dT[^)]*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text || 'connection failed';
}
