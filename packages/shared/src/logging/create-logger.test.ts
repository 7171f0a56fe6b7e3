import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { ConfigError } from '../errors/index.js';
import { closeLogger, createLogger, loggerFromConfig } from './create-logger.js';

/** Collects what a logger writes, one parsed JSON object per line. */
class Lines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  }
}

/** Polls `check` until it returns true or the deadline passes. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('createLogger', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'smgr-log-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes JSON lines with the name and a fixed message to the destination', async () => {
    const out = new Lines();
    const log = await createLogger({ name: 'smgr-test', level: 'info', maxLogSizeBytes: 1024, logFilesToKeep: 1, destination: out });
    log.child({ component: 'poller' }).info({ processId: 7 }, 'restart succeeded');
    log.debug('below the level');
    await closeLogger(log);
    await waitFor('the line', () => out.lines.length > 0);
    assert.equal(out.lines.length, 1);
    assert.equal(out.lines[0]?.['name'], 'smgr-test');
    assert.equal(out.lines[0]?.['component'], 'poller');
    assert.equal(out.lines[0]?.['processId'], 7);
    assert.equal(out.lines[0]?.['msg'], 'restart succeeded');
  });

  it('redacts passwords and tokens at the top level and one object down', async () => {
    const out = new Lines();
    const log = await createLogger({ name: 't', level: 'info', maxLogSizeBytes: 1024, logFilesToKeep: 1, destination: out });
    log.info({ password: 'p1', token: 't1', database: { password: 'p2', host: 'db' }, api: { token: 't2' } }, 'connecting');
    await waitFor('the line', () => out.lines.length > 0);
    const line = JSON.stringify(out.lines[0]);
    for (const secret of ['p1', 'p2', 't1', 't2']) assert.ok(!line.includes(`"${secret}"`), `${secret} is redacted`);
    assert.ok(line.includes('"db"'));
  });

  it('also writes to a file in a directory it creates, and rotates it by size keeping no more than the configured number of files', async () => {
    const file = join(dir, 'rotate', 'nested', 'agent.log');
    const out = new Lines();
    const keep = 2;
    const log = await createLogger({ name: 'rot', level: 'info', file, maxLogSizeBytes: 512, logFilesToKeep: keep, destination: out });
    const logFiles = () => readdirSync(join(dir, 'rotate', 'nested')).filter((f) => /^agent\.log\.\d+$/.test(f));
    for (let i = 0; i < 200; i += 1) {
      log.info({ i, padding: 'x'.repeat(60) }, 'filler line');
      // Let the file stream write between lines, as a running daemon would.
      if (i % 5 === 4) await tick();
    }
    // Rotation numbers files upward from agent.log.1; a number of 5 or more means several rotations.
    await waitFor('several rotations', () => logFiles().some((f) => Number(f.split('.').pop()) >= 5));
    await closeLogger(log);
    // Old files are deleted asynchronously after each rotation.
    await waitFor(`at most ${keep} log files`, () => logFiles().length <= keep);
    const files = logFiles().sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
    assert.equal(files.length, keep, `kept: ${files.join(', ')}`);
    const text = files.map((f) => readFileSync(join(dir, 'rotate', 'nested', f), 'utf8')).join('');
    const last = text.trim().split('\n').at(-1) ?? '{}';
    assert.equal((JSON.parse(last) as { i: number }).i, 199);
    assert.equal(out.lines.length, 200);
  });

  it('reports a log file that cannot be written as a ConfigError naming logging.file', async () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const file = join(blocker, 'smgr.log');
    await assert.rejects(
      createLogger({ name: 't', level: 'info', file, maxLogSizeBytes: 1024, logFilesToKeep: 1, destination: new Lines(), configSource: '/etc/smgr/agent.ini' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.details[0]?.key, 'logging.file');
        assert.equal(err.details[0]?.value, file);
        assert.equal(err.details[0]?.file, '/etc/smgr/agent.ini');
        return true;
      },
    );
  });

  it('builds a logger from the [logging] section whose level can be changed at run time', async () => {
    const out = new Lines();
    const log = await loggerFromConfig(
      'smgr-agent',
      { level: 'warn', file: undefined, maxLogSizeBytes: 5120 * 1024, logFilesToKeep: 5 },
      { destination: out },
    );
    log.info('dropped');
    log.warn('kept');
    log.level = 'debug';
    log.debug('kept after raising the level');
    await closeLogger(log);
    await waitFor('the lines', () => out.lines.length > 1);
    assert.deepEqual(
      out.lines.map((l) => [l['name'], l['msg']]),
      [
        ['smgr-agent', 'kept'],
        ['smgr-agent', 'kept after raising the level'],
      ],
    );
  });
});
