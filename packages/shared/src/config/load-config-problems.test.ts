/** loadConfig's reports of what is wrong (quoting, secrets, suggestions, JSON, TLS, overrides), and the schema doc. Loading and layering: load-config.test.ts. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SHELL_OPERATOR_RULE } from '../command/index.js';
import { configSchemaDoc, loadConfig } from './index.js';
import { configError, INSECURE, useConfigFiles } from './load-config.fixture.js';

const { dir, load } = useConfigFiles();

describe('loadConfig: problems reported', () => {
  it('rejects bad command quoting and shell operators naming process.NAME.key', () => {
    const file = dir.write(
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
    const file = dir.write(`[process.default]\nmax_attempts = none\nbogus = 1\n[process.a]\n[process.b]\n${INSECURE}`);
    const err = configError(() => loadConfig({ file, env: {} }));
    assert.deepEqual(err.details, [
      { file, line: 2, key: 'process.default.max_attempts', value: 'none', rule: 'must be an integer >= 1' },
      { file, line: 3, key: 'process.default.bogus', value: '1', rule: 'unknown key' },
    ]);
  });

  it('reports a ; glued to a value instead of letting ini cut it, without echoing a password', () => {
    const file = dir.write(`[database]\npassword = abc;def\nuser = smgr ; a real comment\n${INSECURE}`);
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
    const file = dir.write(`[process.a]\nstart_command\n[process.b] web\nmax_attempts = 2\nfoo = 1\n[process.c\nmax_attempts = 3\n${INSECURE}`);
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
    const file = dir.write(`password = hunter2\n${INSECURE}[monitor]\ncheck_interval = 1\ncheck_interval = 2\n`);
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
    const file = dir.write(
      JSON.stringify({
        database: { host: 'db', port: 3307 },
        monitor: { check_interval: 0.1 },
        tls: { insecure: true },
        process: {
          default: { max_attempts: 4 },
          'php-fpm7.4': { start_command: ['systemctl start php7.4-fpm', "sh -c 'x; y'"], watch: true },
        },
      }),
      'config-1.json',
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
    const file = dir.write(
      JSON.stringify({ monitor: { check_interval: '1', max_restart_failures: true, retry_delay: { a: { b: 1 } } }, tls: { insecure: true } }),
      'config-2.json',
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
    const missing = join(dir.path, 'missing.ini');
    assert.match(configError(() => loadConfig({ file: missing, env: {} })).message, new RegExp(`^${missing}: .*cannot be read`));
    const broken = dir.write('{"database": ', 'config-3.json');
    assert.match(configError(() => loadConfig({ file: broken, env: {} })).message, /not valid JSON/);
    assert.ok(configError(() => loadConfig({ file: broken, env: {} })).message.startsWith(broken));
  });

  it('requires ca, cert and key unless tls.insecure is true', () => {
    const file = dir.write('[tls]\ncert = /etc/smgr/agent.pem\n');
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
    const file = 'command line';
    assert.deepEqual(err.details, [
      { file, key: 'monitor', rule: 'must be written section.key=value' },
      { file, key: 'process.x', rule: 'must be written process.NAME.key=value' },
      { file, key: 'nope.a', rule: 'unknown section [nope]' },
    ]);
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
