export { initCa, type InitCaOptions, type InitCaResult } from './init-ca.js';
export { issueCert, type IssueCertOptions, type IssueCertResult } from './issue-cert.js';
export { pkiCommand, pkiMain, type PkiIo } from './pki-command.js';
export { caPaths, hostPaths, HOST_ID_PATTERN, type PkiPaths, type IssuedFiles } from './pki-files.js';
