import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { ExitCode } from '../errors/index.js';
import { loadConfig } from './index.js';
import { configError, INSECURE, useConfigFiles } from './load-config.fixture.js';

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

const { dir, load } = useConfigFiles();

describe('loadConfig', () => {
  it('loads the seed config.ini and normalises units to milliseconds and bytes', () => {
    const file = dir.write(SEED_INI);
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
    const file = dir.write(`[monitor]\nfoo = 1\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.equal(err.exitCode, ExitCode.CONFIG);
    assert.ok(err.message.includes(file));
    assert.ok(err.message.includes('monitor.foo'));
    assert.match(err.message, /unknown/);
    assert.deepEqual(err.details, [{ file, line: 2, key: 'monitor.foo', value: '1', rule: 'unknown key' }]);
    assert.ok(err.message.startsWith(`${file}:2: monitor.foo`));
  });

  it('rejects a non-numeric check_interval naming the key, the value and the rule', () => {
    const file = dir.write(`[monitor]\ncheck_interval = fast\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(err.details, [{ file, line: 2, key: 'monitor.check_interval', value: 'fast', rule: 'must be a number > 0' }]);
    assert.ok(err.message.includes('monitor.check_interval'));
    assert.ok(err.message.includes('"fast"'));
  });

  it('does not accept numbers and booleans that convict would read leniently', () => {
    const file = dir.write(`[monitor]\ncheck_interval = 0.5s\nmax_restart_failures = 3.5\n[controller]\ncreate_missing_rows = maybe\n${INSECURE}`);
    assert.deepEqual(configError(() => loadConfig({ file, env: {} })).details, [
      { file, line: 2, key: 'monitor.check_interval', value: '0.5s', rule: 'must be a number > 0' },
      { file, line: 3, key: 'monitor.max_restart_failures', value: '3.5', rule: 'must be an integer >= 1' },
      { file, line: 5, key: 'controller.create_missing_rows', value: 'maybe', rule: 'must be true or false' },
    ]);
  });

  it('names the environment variable source of a bad value', () => {
    const err = configError(() => load(INSECURE, { env: { SMGR_MONITOR_CHECK_INTERVAL: '0' } }));
    assert.deepEqual(err.details, [{ file: 'environment', key: 'monitor.check_interval', value: '0', rule: 'must be a number > 0' }]);
  });

  it('requires the sections the daemon asks for', () => {
    const file = dir.write(`[monitor]\ncheck_interval = 1\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {}, requireSections: ['database'] }));
    assert.deepEqual(err.details, [{ file, key: 'database', rule: 'required section [database] is missing' }]);
  });

  it('rejects an unknown section', () => {
    const file = dir.write(`[databse]\nhost = x\n${INSECURE}`);
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
});
