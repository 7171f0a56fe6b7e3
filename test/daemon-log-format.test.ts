/**
 * Daemon log format: readable lines (local time, level, message, fields) when
 * stdout is a terminal, JSON lines otherwise (journald, pipes); the log file
 * is always JSON. The terminal is a pty from util-linux `script`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeTempDir, ManagedProcess, useCleanup, type ExitStatus } from '@smgr/testing';
import { CONTROLLER_MAIN, ini } from '@smgr/testing/smgr';

/** UTC+14 all year: a local time that cannot be mistaken for UTC. */
const ZONE = 'Pacific/Kiritimati';

/** A controller config whose start fails after one announced retry (MySQL on a port nobody listens on). */
async function failingControllerConfig(dir: string, logFile: string): Promise<string> {
  const path = join(dir, 'controller.ini');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(
    path,
    ini({
      database: { host: '127.0.0.1', port: await freePort(), user: 'smgr', password: 'x' },
      controller: { startup_timeout: 1, grpc_listen: '127.0.0.1:0' },
      tls: { insecure: true },
      logging: { file: logFile },
    }),
  );
  return path;
}

function exitedWithin(p: ManagedProcess, ms: number): Promise<ExitStatus> {
  return Promise.race([p.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${p.name} still running:\n${p.tail()}`)), ms).unref())]);
}

/** `yyyy-mm-dd HH:MM:ss.l` of epoch `ms` in `timeZone`. */
function localStamp(ms: number, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${String(ms % 1000).padStart(3, '0')}`;
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('daemon log format', () => {
  test('on a terminal: local time, level, message and fields on one readable line; the file stays JSON', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await makeTempDir('logfmt-tty');
    cleanup.add(() => dir.remove());
    const logFile = join(dir.path, 'controller.log');
    const config = await failingControllerConfig(dir.path, logFile);
    const p = ManagedProcess.start('script', ['-qfec', `${process.execPath} ${CONTROLLER_MAIN} --config ${config}`, '/dev/null'], {
      name: 'controller-tty',
      env: { TZ: ZONE, SMGR_CONFIG: '' },
    });
    cleanup.add(() => p.stop());
    const status = await exitedWithin(p, 90_000);
    assert.equal(status.code, 69, p.tail());

    const fileLine = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { time: number; msg: string })
      .find((j) => j.msg.startsWith('waiting up to 1 s for MySQL'));
    assert.ok(fileLine, 'the file has the JSON line');
    const shown = p.lines().map(stripAnsi);
    assert.deepEqual(
      shown.filter((l) => l.trimStart().startsWith('{"level"')),
      [],
      'no JSON on the terminal',
    );
    const line = shown.find((l) => l.includes('waiting up to 1 s for MySQL'));
    assert.ok(line, `the warning is shown:\n${shown.join('\n')}`);
    assert.ok(line.startsWith(`[${localStamp(fileLine.time, ZONE)}] WARN: waiting up to 1 s for MySQL`), `local time, level, message: ${line}`);
    assert.match(line, /"key":"database\.host, database\.port"/, 'fields on the same line');
  });

  test('through a pipe (journald): JSON lines with epoch-ms times', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await makeTempDir('logfmt-pipe');
    cleanup.add(() => dir.remove());
    const config = await failingControllerConfig(dir.path, join(dir.path, 'controller.log'));
    const p = ManagedProcess.start(process.execPath, [CONTROLLER_MAIN, '--config', config], { name: 'controller-pipe', env: { SMGR_CONFIG: '' } });
    cleanup.add(() => p.stop());
    const status = await exitedWithin(p, 90_000);
    assert.equal(status.code, 69, p.tail());
    const json = p.jsonLines();
    const warn = json.find((j) => String(j.msg).startsWith('waiting up to 1 s for MySQL'));
    assert.ok(warn, p.tail());
    assert.equal(typeof warn.time, 'number');
    assert.equal(warn.level, 40);
    // Everything on stdout is JSON; the one plain line is on stderr.
    assert.deepEqual(
      p.lines().filter((l) => !l.startsWith('{')),
      [json.find((j) => j.level === 60) ? `smgr-controller: ${String(json.find((j) => j.level === 60)?.reason)}` : ''],
    );
  });
});
