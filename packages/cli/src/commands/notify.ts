import { ExitCode, type DeadLetterRetryView, type DeadLetterView, type FiringAlertView, type NotifyTestView } from '@smgr/shared';
import { CliError } from '../cli-error.js';
import type { CliCommand } from '../context.js';
import { safeCell } from '../format/sanitize.js';
import { withQuery } from '../api-client.js';

/** `smgr notify test|dead-letters|retry|alerts`: the controller's notifications ([receiver.NAME], [route.NAME]). */
export function notifyCommands(program: CliCommand): void {
  const notify = program.command('notify').description('notifications: test a receiver, list dead letters and firing alerts');

  notify
    .command('test')
    .description('send a test message to RECEIVER ([receiver.NAME] of the controller) now; exit 1 when it was not accepted')
    .argument('<receiver>', 'receiver name')
    .run(async (ctx, receiver: string) => {
      const r = await ctx.client().post<NotifyTestView>('/v1/notify/test', { receiver });
      ctx.print(r, (b) => (b.ok ? `test message ${b.messageId} accepted by ${b.receiver} (${b.type})\n` : ''));
      if (!r.ok)
        throw new CliError(ExitCode.FAILURE, `${safeCell(r.receiver)} (${r.type}) did not accept the test message: ${safeCell(r.error ?? 'unknown error')}`);
    });

  notify
    .command('dead-letters')
    .description('messages that could not be delivered after notify.max_attempts, newest first')
    .option('--limit <n>', 'at most this many (default 100)', (v) => Number(v))
    .run((ctx, o: { limit?: number }) =>
      ctx.printList(
        withQuery('/v1/notify/dead-letters', { limit: o.limit }),
        'deadLetters',
        ['ID', 'RECEIVER', 'STATUS', 'ALERTS', 'ATTEMPTS', 'FAILED AT', 'ERROR'],
        (d: DeadLetterView) => [d.id, d.receiver, d.status, d.count, d.attempts, d.failedAt, d.error],
        'no dead letters\n',
      ),
    );

  notify
    .command('retry')
    .description('put a dead letter (ID from smgr notify dead-letters) back in the delivery queue')
    .argument('<id>', 'msg-...')
    .run(async (ctx, id: string) => {
      const r = await ctx.client().post<DeadLetterRetryView>(`/v1/notify/dead-letters/${encodeURIComponent(id)}/retry`, {});
      ctx.print(r, (b) => `${b.id} queued again\n`);
    });

  notify
    .command('alerts')
    .description('alerts firing now (one row per condition; NOTIFIED: a message was queued for it)')
    .run((ctx) =>
      ctx.printList(
        '/v1/notify/alerts',
        'alerts',
        ['EVENT', 'SEVERITY', 'HOST', 'SERVICE', 'SINCE', 'NOTIFIED', 'MESSAGE'],
        (a: FiringAlertView) => [a.event, a.severity, a.hostId, a.service, a.firedAt, a.notified ? 'yes' : 'no', a.message],
        'no alerts firing\n',
      ),
    );
}
