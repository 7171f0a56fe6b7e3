import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, AgentEventSchema, JobResultSchema } from '@smgr/shared';
import { EventOutbox } from './event-outbox.js';
import { JobJournal } from '../jobs/job-journal.js';
import { HeldServices } from '../watch/held-services.js';

test("the agent's state files are owner-only under a permissive umask, and an old world-readable journal is narrowed", (t) => {
  const root = mkdtempSync(join(tmpdir(), 'smgr-state-modes-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const old = process.umask(0o022);
  try {
    const dir = join(root, 'state');
    const journal = new JobJournal(dir, 2);
    for (let i = 0; i < 10; i++) {
      journal.markStarted(`j${i}`);
      journal.markDone(create(JobResultSchema, { jobId: `j${i}`, message: 'token=s3cret in the output tail' }));
    }
    const outbox = new EventOutbox(dir, 2);
    for (let i = 0; i < 400; i++) outbox.add(create(AgentEventSchema, { eventId: `e${i}`, kind: 'watch_failed', service: 'x' }));
    const held = new HeldServices(dir);
    held.hold('web');
    const mode = (p: string) => statSync(p).mode & 0o777;
    assert.equal(mode(dir), 0o700);
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, ['events.journal', 'held-services.json', 'jobs.journal'], 'compaction left no temp file');
    for (const f of files) assert.equal(mode(join(dir, f)), 0o600, f);

    const legacy = join(root, 'legacy');
    new HeldServices(legacy);
    writeFileSync(join(legacy, 'jobs.journal'), '', { mode: 0o644 });
    new JobJournal(legacy).markStarted('x');
    assert.equal(mode(join(legacy, 'jobs.journal')), 0o600);
  } finally {
    process.umask(old);
  }
});
