#!/usr/bin/env node
import { runDaemon } from '@smgr/shared';
import { Agent } from './agent.js';
import { stopBoundMs } from './init/container-init.js';

await runDaemon({
  name: 'smgr-agent',
  role: 'agent',
  description: 'smgr agent: dials the controller, runs restart and lifecycle operations for the services in its own config, reports results.',
  helpAfter:
    'Only services configured here in [process.NAME] sections are ever acted on; the controller sends an operation and a name, never a command.\nExample:\n  smgr-agent --config /etc/smgr/agent.ini --set agent.host_id=web1',
  create: (config, log, { fail }) => new Agent({ config, log, onFatal: fail }),
  // In container mode a stop includes stopping every service, each within its stop_timeout.
  stopTimeoutMs: (config) => stopBoundMs(config),
});
