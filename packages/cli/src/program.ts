import { type Command, Option } from 'commander';
import { SMGR_VERSION } from '@smgr/shared';
// PKI (node-forge) is its own entry point so the daemons never load it.
import { pkiCommand } from '@smgr/shared/pki';
import { CliCommand, type CliIo } from './context.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_URL } from './cli-config.js';
import { statusCommand } from './commands/status.js';
import { hostsCommand } from './commands/hosts.js';
import { alarmCommands } from './commands/alarms.js';
import { menuCommand } from './commands/menu.js';
import { operationCommands } from './commands/operations.js';
import { rolloutCommands } from './commands/rollout.js';
import { tokenCommands } from './commands/tokens.js';
import { eventsCommand } from './commands/events.js';
import { placementCommands } from './commands/placement.js';
import { notifyCommands } from './commands/notify.js';

const HELP_AFTER = `
Where the controller is, and as whom (highest first): flags; environment
SMGR_CLI_URL, SMGR_CLI_TOKEN, SMGR_CLI_TOKEN_FILE, SMGR_CLI_CA,
SMGR_CLI_CONFIG; the [cli] section of the config file (default
${DEFAULT_CONFIG_PATH}):

  [cli]
  url = https://ctl1.example.org:7080
  token_file = /home/me/.config/smgr/token
  ca = /etc/smgr/ca.pem

Prefer a token file or SMGR_CLI_TOKEN to --token (other users can read
command lines). The first admin token is made on the controller host:
  smgr-controller --config /etc/smgr/controller.ini token create NAME --role admin \\
    --output ~/.config/smgr/token        (written 0600)

Exit codes: 0 ok, 1 failure (a host failed, a rollout did not succeed, not
allowed, not found, conflict), 2 usage or invalid request (HTTP 400/422), 69
controller unreachable, 78 bad CLI configuration or token refused.

Colour on a terminal only; NO_COLOR=1 or TERM=dumb turns it off.

Examples:
  smgr status                                  fleet overview
  smgr hosts --label role=web
  smgr alarms --all                            every monitored process
  smgr alarm raise 12                          set process 12 in alarm; smgr repairs it
  smgr alarm clear --all                       reset every alarm
  smgr process add nginx                       monitor a new process (PROCESE + STATUS_PROCESS)
  smgr place nginx --host web1                 repair nginx on web1 (when several hosts run it)
  smgr restart nginx --host web1 --host web2   each host's line as it finishes
  smgr restart nginx --no-wait                 print the operation id; then:
  smgr operation show op-1a2b3c4d5e6f --wait
  smgr update nginx 1.27.1 --host web1 --timeout 120
  smgr rollout start nginx 1.27.1 --canary 1 --batch-size 25% --auto-rollback
  smgr rollout status 7 --watch
  smgr notify test ops-webhook                 send a test message to a receiver
  smgr --json hosts | jq '.hosts[].hostId'`;

/** Applies `fn` to a command and every command under it (commander copies settings only to commands made with .command()). */
function everyCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) everyCommand(sub, fn);
}

/** The `smgr` command tree. */
export function buildProgram(io: CliIo): Command {
  const program = new CliCommand(io, 'smgr')
    .description("smgr operator CLI: hosts, alarms, operations and rolling updates through the controller's HTTP API")
    .version(SMGR_VERSION, '-V, --version')
    .addOption(new Option('--url <url>', `controller API URL (default ${DEFAULT_URL})`))
    .addOption(new Option('--token <token>', 'API bearer token (prefer --token-file or SMGR_CLI_TOKEN)'))
    .addOption(new Option('--token-file <file>', 'file holding the API token'))
    .addOption(new Option('--ca <file>', "CA certificate (PEM) the API's HTTPS certificate is checked against"))
    .addOption(new Option('--config <file>', `CLI config file (default ${DEFAULT_CONFIG_PATH} when it exists)`))
    .option('--json', "print the API's JSON answer instead of text (every read)")
    .option('--timeout <seconds>', 'request timeout (default 30); for restart/start/stop/status SERVICE/update: how long each host gets')
    .addHelpText('after', HELP_AFTER)
    .showHelpAfterError('(run with --help for usage)');

  statusCommand(program);
  hostsCommand(program);
  alarmCommands(program);
  placementCommands(program);
  menuCommand(program);
  operationCommands(program);
  rolloutCommands(program);
  tokenCommands(program);
  eventsCommand(program);
  notifyCommands(program);
  program.addCommand(
    pkiCommand({ out: (t) => io.stdout.write(t), err: (t) => io.stderr.write(t) }).addHelpText(
      'after',
      '\nFiles: DIR/ca.pem, DIR/ca.key (0600); DIR/HOST.pem, DIR/HOST.key (0600). A controller with its API on HTTPS uses its own certificate (api.cert/api.key or tls.cert/tls.key); give the CLI --ca DIR/ca.pem.',
    ),
  );

  everyCommand(program, (c) => c.exitOverride().configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t) }));
  return program;
}
