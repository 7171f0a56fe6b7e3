import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { useIniDir } from '@smgr/testing';
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
  const tmp = useIniDir('smgr-log-');

  it('writes JSON lines with the name and a fixed message to the destination', async () => {
    const out = new Lines();
    const log = await createLogger({ name: 'smgr-test', level: 'info', maxLogSizeBytes: 1024, logFilesToKeep: 1, destination: out });
    log.child({ component: 'poller' }).info({ processId: 7 }, 'restart succeeded');
    log.debug('below the level');
    await closeLogger(log);
    await waitFor('the line', () => out.lines.length > 0);
    assert.equal(out.lines.length, 1);
    assert.equal(out.lines[0]?.name, 'smgr-test');
    assert.equal(out.lines[0]?.component, 'poller');
    assert.equal(out.lines[0]?.processId, 7);
    assert.equal(out.lines[0]?.msg, 'restart succeeded');
  });

  it('writes readable lines (time, level, message, fields on one line) in the pretty format, and still redacts', async () => {
    let text = '';
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    const log = await createLogger({ name: 'smgr-test', level: 'info', maxLogSizeBytes: 1024, logFilesToKeep: 1, destination: out, format: 'pretty' });
    log.info({ processId: 7, password: 'p1' }, 'restart succeeded');
    await closeLogger(log);
    await waitFor('the line', () => text.includes('\n'));
    assert.match(text, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: restart succeeded \{"processId":7,"password":"\[Redacted\]"\}\n$/);
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

  it('writes the live file as FILE and rotates by size to FILE.1 (newest) … FILE.N, dropping older ones', async () => {
    const sub = join(tmp.path, 'rotate', 'nested');
    const file = join(sub, 'agent.log');
    const keep = 3;
    const log = await createLogger({ name: 'rot', level: 'info', file, maxLogSizeBytes: 512, logFilesToKeep: keep, destination: new Lines() });
    for (let i = 0; i < 200; i += 1) {
      log.info({ i, padding: 'x'.repeat(60) }, 'filler line');
      // Let the file stream write between lines, as a running daemon would.
      if (i % 5 === 4) await tick();
    }
    await closeLogger(log);
    const names = readdirSync(sub).sort();
    assert.deepEqual(names, ['agent.log', 'agent.log.1', 'agent.log.2', 'agent.log.3'], `files: ${names.join(', ')}`);
    const numbers = (name: string) =>
      readFileSync(join(sub, name), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { i: number }).i);
    // The live file holds the newest lines, ending with the last one written.
    assert.equal(numbers('agent.log').at(-1), 199);
    // Each rotated file is older than the one before it: FILE < FILE.1 < FILE.2 < FILE.3 going back in time.
    const order = ['agent.log', 'agent.log.1', 'agent.log.2', 'agent.log.3'].map(numbers);
    for (let k = 1; k < order.length; k += 1) {
      assert.ok(order[k]!.length > 0, `${names[k]} is not empty`);
      assert.ok(order[k]!.at(-1)! < order[k - 1]![0]!, `${names[k]} holds older lines than ${names[k - 1]}`);
      // Consecutive: no line is lost between two files.
      assert.equal(order[k]!.at(-1)! + 1, order[k - 1]![0]!);
    }
  });

  it('appends to an existing live file at start instead of replacing it', async () => {
    const sub = join(tmp.path, 'append');
    const file = join(sub, 'ctl.log');
    for (const round of [1, 2]) {
      const log = await createLogger({ name: 'app', level: 'info', file, maxLogSizeBytes: 1 << 20, logFilesToKeep: 2, destination: new Lines() });
      log.info({ round }, 'started');
      await closeLogger(log);
    }
    const rounds = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { round: number }).round);
    assert.deepEqual(rounds, [1, 2]);
    assert.deepEqual(readdirSync(sub), ['ctl.log']);
  });

  it('reports a log file that cannot be written as a ConfigError naming logging.file', async () => {
    const blocker = join(tmp.path, 'not-a-dir');
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
    const log = await loggerFromConfig('smgr-agent', { level: 'warn', file: undefined, maxLogSizeBytes: 5120 * 1024, logFilesToKeep: 5 }, { destination: out });
    log.info('dropped');
    log.warn('kept');
    log.level = 'debug';
    log.debug('kept after raising the level');
    await closeLogger(log);
    await waitFor('the lines', () => out.lines.length > 1);
    assert.deepEqual(
      out.lines.map((l) => [l.name, l.msg]),
      [
        ['smgr-agent', 'kept'],
        ['smgr-agent', 'kept after raising the level'],
      ],
    );
  });
});
