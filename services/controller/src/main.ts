#!/usr/bin/env node
import { runDaemon } from '@smgr/shared';
import { Controller } from './controller.js';

await runDaemon({
  name: 'smgr-controller',
  description:
    'smgr controller: polls MySQL for alarms (STATUS_PROCESS.alarma=1), sends repair jobs through BullMQ and gRPC to the agents, clears alarms and keeps the history.',
  requireSections: ['database'],
  helpAfter: 'Example:\n  smgr-controller --config /etc/smgr/controller.ini --set monitor.check_interval=0.5',
  stopTimeoutMs: 20_000,
  create: (config, log) => new Controller({ config, log }),
});
