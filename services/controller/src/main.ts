#!/usr/bin/env node
import { runDaemon } from '@smgr/shared';
import { Controller } from './controller.js';
import { isTokenCommand, runTokenAdmin } from './api/auth/token-admin.js';

// `smgr-controller --config FILE token create NAME --role admin`: the first API token, straight in the database.
if (isTokenCommand(process.argv)) process.exit(await runTokenAdmin(process.argv.slice(2)));

await runDaemon({
  name: 'smgr-controller',
  role: 'controller',
  description:
    'smgr controller: polls MySQL for alarms (STATUS_PROCESS.alarma=1), sends repair jobs through BullMQ and gRPC to the agents, clears alarms and keeps the history.',
  requireSections: ['database'],
  helpAfter:
    'Example:\n  smgr-controller --config /etc/smgr/controller.ini --set monitor.check_interval=0.5\n\n' +
    'API tokens (directly in the database; prints the secret once):\n' +
    '  smgr-controller --config FILE token create NAME --role viewer|operator|admin [--expires-days N] [--output FILE]\n' +
    '  smgr-controller --config FILE token list\n' +
    '  smgr-controller --config FILE token revoke NAME',
  stopTimeoutMs: 20_000,
  create: (config, log) => new Controller({ config, log }),
});
