import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ExitCode } from '../errors/index.js';
import { SHELL_OPERATOR_RULE } from '../command/index.js';
import { configSchemaDoc, loadConfig, type LoadConfigOptions, type SmgrConfig } from './index.js';

/** The example sections of seed 002's config.ini, verbatim, plus [tls] so it validates. */
const SEED_INI = `[database]
host = localhost
user = root
password = your_password
database = v_process_monitor

[monitor]
; Check interval in seconds (5 minutes)
check_interval = 300
; Maximum number of restart failures before circuit breaker opens
max_restart_failures = 3
; Circuit breaker reset time in seconds (30 minutes)
circuit_reset_time = 1800

[logging]
; Maximum log file size in KB before rotation (default: 5MB)
max_log_size = 5120
; Number of log files to keep (default: 5)
log_files_to_keep = 5

[process.apache2]
restart_strategy = service
pre_restart_command = /usr/sbin/apachectl configtest
health_check_command = systemctl is-active apache2
health_check_timeout = 10
restart_delay = 5
max_attempts = 2

[process.default]
restart_strategy = auto
health_check_command = pgrep %s
health_check_timeout = 5
restart_delay = 2
max_attempts = 2

[tls]
insecure = true
`;

const INSECURE = '[tls]\ninsecure = true\n';

let dir = '';
let counter = 0;

/** Writes a config file into the test's temp dir and returns its path. */
function writeConfig(text: string, ext = 'ini'): string {
  counter += 1;
  const file = join(dir, `config-${counter}.${ext}`);
  writeFileSync(file, text);
  return file;
}

function load(text: string, opts: Omit<LoadConfigOptions, 'file'> = {}): SmgrConfig {
  return loadConfig({ env: {}, ...opts, file: writeConfig(text) });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'smgr-config-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the seed config.ini and normalises units to milliseconds and bytes', () => {
    const file = writeConfig(SEED_INI);
    const config = loadConfig({ file, env: {} });
    assert.equal(config.source, file);
    assert.deepEqual(config.database, {
      host: 'localhost',
      port: 3306,
      user: 'root',
      password: 'your_password',
      database: 'v_process_monitor',
      connectionLimit: 10,
      socket: undefined,
      sslCa: '',
      sslCert: '',
      sslKey: '',
      sslVerify: true,
      allowPlaintext: false,
    });
    assert.equal(config.monitor.checkIntervalMs, 300_000);
    assert.equal(config.monitor.maxRestartFailures, 3);
    assert.equal(config.monitor.circuitResetMs, 1_800_000);
    assert.equal(config.logging.maxLogSizeBytes, 5120 * 1024);
    assert.equal(config.logging.logFilesToKeep, 5);
    assert.equal(config.logging.file, undefined);

    assert.equal(config.processDefaults.name, 'default');
    assert.deepEqual(config.processDefaults.healthCheckCommand, [['pgrep', '%s']]);
    assert.equal(config.processes.length, 1);
    const apache = config.processes[0];
    assert.equal(apache?.name, 'apache2');
    assert.equal(apache?.restartStrategy, 'service');
    assert.deepEqual(apache?.preRestartCommand, [['/usr/sbin/apachectl', 'configtest']]);
    assert.deepEqual(apache?.healthCheckCommand, [['systemctl', 'is-active', 'apache2']]);
    assert.equal(apache?.healthCheckTimeoutMs, 10_000);
    assert.equal(apache?.restartDelayMs, 5_000);
    assert.equal(apache?.maxAttempts, 2);
    assert.equal(apache?.serviceName, 'apache2');
    assert.deepEqual(apache?.startCommand, []);
  });

  it('uses the built-in defaults when no file is given', () => {
    const config = loadConfig({ env: {}, overrides: ['tls.insecure=true'] });
    assert.equal(config.source, 'defaults');
    assert.equal(config.monitor.checkIntervalMs, 200);
    assert.equal(config.redis.url, 'redis://127.0.0.1:6379');
    assert.deepEqual(config.agent.controllers, ['127.0.0.1:7443']);
    assert.equal(config.agent.hostId, hostname());
    assert.equal(config.controller.id, hostname());
    assert.deepEqual(config.processDefaults.healthCheckCommand, [['pgrep', '-x', '--', '%s']]);
    assert.deepEqual(config.processes, []);
  });

  it('lets the environment beat the file and the command line beat both', () => {
    const text = `[monitor]\ncheck_interval = 1\nretry_delay = 3\njob_timeout = 7\n[database]\nhost = file-host\n${INSECURE}`;
    const env = { SMGR_MONITOR_RETRY_DELAY: '4', SMGR_MONITOR_JOB_TIMEOUT: '8', SMGR_DATABASE_HOST: 'env-host' };
    const config = load(text, { env, overrides: ['monitor.job_timeout=9', 'redis.url=rediss://r:1'] });
    assert.equal(config.monitor.checkIntervalMs, 1_000);
    assert.equal(config.monitor.retryDelayMs, 4_000);
    assert.equal(config.monitor.jobTimeoutMs, 9_000);
    assert.equal(config.database.host, 'env-host');
    assert.equal(config.redis.url, 'rediss://r:1');
  });

  it('layers a process section over [process.default] over the built-in defaults', () => {
    const config = load(`[process.default]\nmax_attempts = 5\nrestart_delay = 1.5\n[process.nginx]\nmax_attempts = 7\nservice_name = nginx-main\n${INSECURE}`, {
      overrides: ['process.nginx.stop_timeout=3', 'process.default.restart_delay=0.25'],
    });
    const nginx = config.processes[0];
    assert.equal(nginx?.maxAttempts, 7);
    assert.equal(nginx?.restartDelayMs, 250);
    assert.equal(nginx?.stopTimeoutMs, 3_000);
    assert.equal(nginx?.healthCheckTimeoutMs, 5_000);
    assert.equal(nginx?.serviceName, 'nginx-main');
    assert.equal(config.processDefaults.maxAttempts, 5);
    assert.equal(config.processDefaults.serviceName, undefined);
  });

  it('keeps dotted process names whole and lists processes in file order', () => {
    const config = load(`[process.php-fpm7.4]\nmax_attempts = 4\n[process.php-fpm7]\nmax_attempts = 3\n[process.10]\n[process.2]\nwatch = yes\n${INSECURE}`);
    assert.deepEqual(
      config.processes.map((p) => [p.name, p.maxAttempts, p.watch]),
      [
        ['php-fpm7.4', 4, false],
        ['php-fpm7', 3, false],
        ['10', 2, false],
        ['2', 2, true],
      ],
    );
    assert.equal(config.processes[0]?.serviceName, 'php-fpm7.4');
  });

  it('rejects an unknown key naming the file, the key and the word unknown', () => {
    const file = writeConfig(`[monitor]\nfoo = 1\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.equal(err.exitCode, ExitCode.CONFIG);
    assert.ok(err.message.includes(file));
    assert.ok(err.message.includes('monitor.foo'));
    assert.match(err.message, /unknown/);
    assert.deepEqual(err.details, [{ file, line: 2, key: 'monitor.foo', value: '1', rule: 'unknown key' }]);
    assert.ok(err.message.startsWith(`${file}:2: monitor.foo`));
  });

  it('rejects a non-numeric check_interval naming the key, the value and the rule', () => {
    const file = writeConfig(`[monitor]\ncheck_interval = fast\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(err.details, [{ file, line: 2, key: 'monitor.check_interval', value: 'fast', rule: 'must be a number > 0' }]);
    assert.ok(err.message.includes('monitor.check_interval'));
    assert.ok(err.message.includes('"fast"'));
  });

  it('does not accept numbers and booleans that convict would read leniently', () => {
    const err = configError(() => load(`[monitor]\ncheck_interval = 0.5s\nmax_restart_failures = 3.5\n[controller]\ncreate_missing_rows = maybe\n${INSECURE}`));
    assert.deepEqual(
      err.details.map((d) => [d.key, d.value, d.rule]),
      [
        ['monitor.check_interval', '0.5s', 'must be a number > 0'],
        ['monitor.max_restart_failures', '3.5', 'must be an integer >= 1'],
        ['controller.create_missing_rows', 'maybe', 'must be true or false'],
      ],
    );
  });

  it('names the environment variable source of a bad value', () => {
    const err = configError(() => load(INSECURE, { env: { SMGR_MONITOR_CHECK_INTERVAL: '0' } }));
    assert.deepEqual(err.details, [{ file: 'environment', key: 'monitor.check_interval', value: '0', rule: 'must be a number > 0' }]);
  });

  it('requires the sections the daemon asks for', () => {
    const file = writeConfig(`[monitor]\ncheck_interval = 1\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {}, requireSections: ['database'] }));
    assert.deepEqual(err.details, [{ file, key: 'database', rule: 'required section [database] is missing' }]);
  });

  it('rejects an unknown section', () => {
    const file = writeConfig(`[databse]\nhost = x\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(err.details, [{ file, line: 1, key: 'databse', rule: 'unknown section [databse]; did you mean [database]?' }]);
  });

  it('parses agent labels and controller lists and rejects malformed labels', () => {
    const config = load(`[agent]\nlabels = role=web, zone=eu-1\ncontroller = c1:7443, [::1]:7443\n${INSECURE}`);
    assert.deepEqual(config.agent.labels, { role: 'web', zone: 'eu-1' });
    assert.deepEqual(config.agent.controllers, ['c1:7443', '[::1]:7443']);
    for (const labels of ['role', 'role=web,,x=1', '=web', 'a=1,a=2']) {
      const err = configError(() => load(`[agent]\nlabels = ${labels}\n${INSECURE}`));
      assert.equal(err.details[0]?.key, 'agent.labels');
      assert.match(err.details[0]?.rule ?? '', /key=value/);
    }
  });

  it('reads commands verbatim from config.ini so shell quoting survives ini', () => {
    const config = load(
      [
        '[process.app]',
        "start_command = sh -c 'a; b # not a comment'  # a comment",
        'stop_command = find /run -name x -exec rm {} \\;',
        'health_check_command = \'/opt/my app/check\' "%s"',
        'assert_up_command[] = systemctl is-active app',
        'assert_up_command[] = pgrep -x app',
        'env[] = PATH=/usr/bin:/bin',
        'env[] = GREETING=a=b',
        INSECURE,
      ].join('\n'),
    );
    const app = config.processes[0];
    assert.deepEqual(app?.startCommand, [['sh', '-c', 'a; b # not a comment']]);
    assert.deepEqual(app?.stopCommand, [['find', '/run', '-name', 'x', '-exec', 'rm', '{}', ';']]);
    assert.deepEqual(app?.healthCheckCommand, [['/opt/my app/check', '%s']]);
    assert.deepEqual(app?.assertUpCommand, [
      ['systemctl', 'is-active', 'app'],
      ['pgrep', '-x', 'app'],
    ]);
    assert.deepEqual(app?.env, ['PATH=/usr/bin:/bin', 'GREETING=a=b']);
  });

  it('rejects bad command quoting and shell operators naming process.NAME.key', () => {
    const file = writeConfig(
      `[process.web]\nstart_command = nginx -g 'daemon off;\nstop_command = nginx -s stop ; rm -rf /tmp/x\npre_restart_command = nginx -t && true\n${INSECURE}`,
    );
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(err.details, [
      { file, line: 4, key: 'process.web.pre_restart_command', value: 'nginx -t && true', rule: SHELL_OPERATOR_RULE },
      { file, line: 2, key: 'process.web.start_command', value: "nginx -g 'daemon off;", rule: 'unterminated single quote' },
      { file, line: 3, key: 'process.web.stop_command', value: 'nginx -s stop ; rm -rf /tmp/x', rule: SHELL_OPERATOR_RULE },
    ]);
  });

  it('reports a bad [process.default] value once, not once per process', () => {
    const file = writeConfig(`[process.default]\nmax_attempts = none\nbogus = 1\n[process.a]\n[process.b]\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(err.details, [
      { file, line: 2, key: 'process.default.max_attempts', value: 'none', rule: 'must be an integer >= 1' },
      { file, line: 3, key: 'process.default.bogus', value: '1', rule: 'unknown key' },
    ]);
  });

  it('reports a ; glued to a value instead of letting ini cut it, without echoing a password', () => {
    const file = writeConfig(`[database]\npassword = abc;def\nuser = smgr ; a real comment\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.equal(err.details.length, 1);
    assert.equal(err.details[0]?.key, 'database.password');
    assert.equal(err.details[0]?.value, undefined);
    assert.ok(!err.message.includes('abc'));
    const config = load(`[database]\npassword = "abc;def"\nuser = smgr ; a real comment\n${INSECURE}`);
    assert.equal(config.database.password, 'abc;def');
    assert.equal(config.database.user, 'smgr');
  });

  it('keeps secrets out of errors: Redis URL credentials and hook environment values', () => {
    const err = configError(() => load(`[redis]\nurl = http://app:hunter2@r:1\n[process.web]\nenv[] = TOKEN=hunter3;x\nenv[] = =bad\n${INSECURE}`));
    assert.deepEqual(err.details.find((d) => d.key === 'redis.url')?.value, 'http://app:***@r:1');
    assert.ok(err.details.some((d) => d.key === 'process.web.env'));
    assert.ok(err.details.filter((d) => d.key === 'process.web.env').every((d) => d.value === undefined));
    assert.doesNotMatch(err.message, /hunter/);
  });

  it('rejects a key without a value and a section header followed by text, without cascading', () => {
    const file = writeConfig(`[process.a]\nstart_command\n[process.b] web\nmax_attempts = 2\nfoo = 1\n[process.c\nmax_attempts = 3\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(
      err.details.map((d) => [d.line, d.key, d.rule]),
      [
        [2, 'process.a.start_command', 'has no value; write key = value'],
        [3, '[process.b] web', 'is not a section header: only a ; or # comment may follow the closing ]'],
        [6, '[process.c', 'is not a section header: the closing ] is missing'],
      ],
    );
  });

  it('reads comments after section headers and values, as the README example writes them', () => {
    const config = load(
      [
        '[database]                ; controller: required',
        'user = smgr  # the service account',
        'password = "se;cret"      ; quoted, so the ; is kept',
        '[tls]                     ; mutual TLS; insecure = true only for a local demo',
        'insecure = true',
        '[process.web]             # a web server',
        'health_check_command = pgrep -x -- %s  # exact name',
        'env[] = A=1',
        'env[] = B=2 ; two lines make a list',
      ].join('\n'),
    );
    assert.equal(config.database.user, 'smgr');
    assert.equal(config.database.password, 'se;cret');
    assert.equal(config.tls.insecure, true);
    assert.deepEqual(config.processes[0]?.healthCheckCommand, [['pgrep', '-x', '--', '%s']]);
    assert.deepEqual(config.processes[0]?.env, ['A=1', 'B=2']);
  });

  it('names the line of a key outside any section without echoing its value, and of a key set twice', () => {
    const file = writeConfig(`password = hunter2\n${INSECURE}[monitor]\ncheck_interval = 1\ncheck_interval = 2\n`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(
      err.details.map((d) => [d.line, d.key, d.rule.split(';')[0]]),
      [
        [1, 'password', 'is outside any section'],
        [6, 'monitor.check_interval', 'is set twice in its section (first on line 5)'],
      ],
    );
    assert.ok(!err.message.includes('hunter2'));
  });

  it('suggests the closest known key or section for a typo, and nothing for a word far from all', () => {
    const err = configError(() =>
      load(`[monitor]\ncheck_intervall = 5\n[process.web]\nhelth_check_command = true\n[proces.db]\n[tsl]\ninsecure = true\n[monitor]\nzzz = 1\n`, {
        overrides: ['tls.insecure=true', 'databse.host=x'],
      }),
    );
    assert.deepEqual(
      err.details.map((d) => [d.file === 'command line' ? 'cli' : d.line, d.key, d.rule]),
      [
        [5, 'proces.db', 'unknown section [proces.db]; did you mean [process.db]?'],
        [6, 'tsl', 'unknown section [tsl]; did you mean [tls]?'],
        ['cli', 'databse.host', 'unknown section [databse]; did you mean [database]?'],
        [2, 'monitor.check_intervall', 'unknown key; did you mean check_interval?'],
        [9, 'monitor.zzz', 'unknown key'],
        [4, 'process.web.helth_check_command', 'unknown key; did you mean health_check_command?'],
      ],
    );
  });

  it('loads a JSON config of the same shape', () => {
    const file = writeConfig(
      JSON.stringify({
        database: { host: 'db', port: 3307 },
        monitor: { check_interval: 0.1 },
        tls: { insecure: true },
        process: {
          default: { max_attempts: 4 },
          'php-fpm7.4': { start_command: ['systemctl start php7.4-fpm', "sh -c 'x; y'"], watch: true },
        },
      }),
      'json',
    );
    const config = loadConfig({ file, env: {} });
    assert.equal(config.database.port, 3307);
    assert.equal(config.monitor.checkIntervalMs, 100);
    assert.equal(config.processDefaults.maxAttempts, 4);
    assert.equal(config.processes[0]?.name, 'php-fpm7.4');
    assert.equal(config.processes[0]?.maxAttempts, 4);
    assert.equal(config.processes[0]?.watch, true);
    assert.deepEqual(config.processes[0]?.startCommand, [
      ['systemctl', 'start', 'php7.4-fpm'],
      ['sh', '-c', 'x; y'],
    ]);
  });

  it('rejects wrong JSON types and nested objects without crashing', () => {
    const file = writeConfig(
      JSON.stringify({ monitor: { check_interval: '1', max_restart_failures: true, retry_delay: { a: { b: 1 } } }, tls: { insecure: true } }),
      'json',
    );
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(
      err.details.map((d) => [d.key, d.rule]),
      [
        ['monitor.retry_delay', 'must be a single value or a list, not an object'],
        ['monitor.max_restart_failures', 'must be an integer >= 1'],
      ],
    );
  });

  it('names the file when it cannot be read or parsed', () => {
    const missing = join(dir, 'missing.ini');
    assert.match(configError(() => loadConfig({ file: missing, env: {} })).message, new RegExp(`^${missing}: .*cannot be read`));
    const broken = writeConfig('{"database": ', 'json');
    assert.match(configError(() => loadConfig({ file: broken, env: {} })).message, /not valid JSON/);
    assert.ok(configError(() => loadConfig({ file: broken, env: {} })).message.startsWith(broken));
  });

  it('requires ca, cert and key unless tls.insecure is true', () => {
    const file = writeConfig('[tls]\ncert = /etc/smgr/agent.pem\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(err.details, [
      { file, line: 1, key: 'tls.ca', rule: 'required unless tls.insecure = true' },
      { file, line: 1, key: 'tls.key', rule: 'required unless tls.insecure = true' },
    ]);
    const config = load('[tls]\nca = /ca.pem\ncert = /c.pem\nkey = /k.pem\n');
    assert.deepEqual(config.tls, { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem', insecure: false, crl: '', pinCaSha256: '' });
  });

  it('rejects malformed command-line overrides', () => {
    const err = configError(() => loadConfig({ env: {}, overrides: ['tls.insecure=true', 'monitor', 'process.x=1', 'nope.a=1'] }));
    assert.deepEqual(
      err.details.map((d) => [d.file, d.key, d.rule]),
      [
        ['command line', 'monitor', 'must be written section.key=value'],
        ['command line', 'process.x', 'must be written process.NAME.key=value'],
        ['command line', 'nope.a', 'unknown section [nope]'],
      ],
    );
  });

  it('inherits agent.service_manager unless a process sets its own', () => {
    const config = load(`[agent]\nservice_manager = openrc\n[process.a]\n[process.b]\nservice_manager = none\n${INSECURE}`);
    assert.deepEqual(
      config.processes.map((p) => p.serviceManager),
      ['openrc', 'none'],
    );
  });

  it('returns a deeply frozen object', () => {
    const config = load(`[process.a]\nstart_command = a b\n${INSECURE}`);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.processes));
    assert.ok(Object.isFrozen(config.processes[0]?.startCommand[0]));
    assert.ok(Object.isFrozen(config.agent.labels));
    assert.throws(() => {
      (config.monitor as { checkIntervalMs: number }).checkIntervalMs = 1;
    }, TypeError);
  });
});

describe('configSchemaDoc', () => {
  it('documents every key with a default and names the environment variable of global keys', () => {
    const docs = configSchemaDoc();
    assert.ok(docs.length > 60);
    for (const d of docs) {
      assert.ok(d.doc.length > 0, `${d.key} has a doc`);
      assert.notEqual(d.default, undefined);
    }
    assert.deepEqual(
      docs.find((d) => d.key === 'monitor.check_interval'),
      { key: 'monitor.check_interval', doc: 'time between alarm polls (seconds)', default: 0.2, env: 'SMGR_MONITOR_CHECK_INTERVAL' },
    );
    assert.equal(docs.find((d) => d.key === 'process.NAME.max_attempts')?.env, undefined);
  });
});
