import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EffectiveSection } from './effective-settings.js';
import { formatConfigWarning, pgrepFix, pgrepWarnings } from './pgrep-warnings.js';

const section = (name: string, health: unknown, from?: string): EffectiveSection => ({
  name,
  settings: [
    {
      key: 'health_check_command',
      value: health,
      origin: { file: '/etc/smgr/agent.ini', line: from === 'process.default' ? 12 : 20 },
      section: from ?? name,
    },
    { key: 'start_command', value: 'pgrep %s' },
  ],
});

describe('pgrep checks without -x', () => {
  it('suggest pgrep -x -- PATTERN for a loose pgrep and keep other options', () => {
    assert.equal(pgrepFix('pgrep %s'), 'pgrep -x -- %s');
    assert.equal(pgrepFix('/usr/bin/pgrep -u www-data %s'), 'pgrep -x -u www-data -- %s');
    assert.equal(pgrepFix("pgrep 'my app'"), "pgrep -x -- 'my app'");
  });

  it('leave exact, full-command-line, pid-file and anchored checks and other programs alone', () => {
    for (const ok of [
      'pgrep -x -- %s',
      'pgrep -x %s',
      'pgrep --exact %s',
      'pgrep -lx %s',
      'pgrep -f "java .*app.jar"',
      'pgrep -F /run/a.pid',
      'pgrep ^bst2$',
      'systemctl is-active %s',
      'pgrep',
      "sh -c 'unterminated",
    ]) {
      assert.equal(pgrepFix(ok), undefined, ok);
    }
  });

  it('warn once per place written, naming the processes that inherit it from [process.default]', () => {
    const warnings = pgrepWarnings([
      section('process.default', 'pgrep %s', 'process.default'),
      section('process.bst2', 'pgrep %s', 'process.default'),
      section('process.bst20', 'pgrep %s', 'process.default'),
      section('process.web', ['systemctl is-active web', 'pgrep web']),
      section('process.ok', 'pgrep -x -- %s'),
    ]);
    assert.deepEqual(
      warnings.map((w) => [w.key, w.value, w.usedBy, w.fix]),
      [
        ['process.default.health_check_command', 'pgrep %s', ['bst2', 'bst20'], 'pgrep -x -- %s'],
        ['process.web.health_check_command', 'pgrep web', ['web'], 'pgrep -x -- web'],
      ],
    );
    assert.equal(
      formatConfigWarning(warnings[0]!),
      '/etc/smgr/agent.ini:12: process.default.health_check_command = "pgrep %s": pgrep without -x matches every process whose name merely contains the pattern (a dead bst2 passes its check while bst20 runs) (used by [process.bst2], [process.bst20]); write health_check_command = pgrep -x -- %s',
    );
  });
});
