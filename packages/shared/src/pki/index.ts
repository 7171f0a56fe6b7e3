export { initCa, type InitCaOptions, type InitCaResult } from './init-ca.js';
export { issueCert, renewCert, DEFAULT_CERT_DAYS, type IssueCertOptions, type IssueCertResult, type RenewCertOptions } from './issue-cert.js';
export { revokeCert, writeCrl, crlPath, DEFAULT_CRL_DAYS, REVOKE_REASONS, type RevokeReason, type CrlResult } from './revoke-cert.js';
export { CERT_ROLES, type CertRole } from './x509.js';
export { pkiCommand, pkiMain, type PkiIo } from './pki-command.js';
export { caPaths, hostPaths, HOST_ID_PATTERN, type PkiPaths, type IssuedFiles } from './pki-files.js';
