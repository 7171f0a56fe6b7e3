#!/usr/bin/env node
/**
 * Runnable `pki init|issue|renew|revoke|crl`, for scripts and tests until
 * the smgr CLI mounts the same command (pkiCommand) as `smgr pki`:
 *
 *   node packages/shared/dist/pki/pki-main.js init /etc/smgr/pki
 *   node packages/shared/dist/pki/pki-main.js issue /etc/smgr/pki ctl1 --role controller --san ctl1.example.org --san 10.0.0.5
 *   node packages/shared/dist/pki/pki-main.js issue /etc/smgr/pki web1 --role agent
 *   node packages/shared/dist/pki/pki-main.js revoke /etc/smgr/pki /etc/smgr/pki/web1.pem
 *
 * Deliberately not exported from the package index: importing it runs it.
 */
import { pkiMain } from './pki-command.js';

process.exitCode = await pkiMain(process.argv.slice(2));
