import type { FastifyInstance } from 'fastify';
import type { DeadLetterRetryView, DeadLetterView, FiringAlertView, NotifyTestView } from '@smgr/shared';
import type { ApiDeps } from '../api-types.js';
import { paramTarget, targetFrom } from './audit-target.js';
import { ApiError } from '../http-errors.js';

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

/**
 * Notifications: a test message to one receiver (operator), the dead
 * letters (viewer) and putting one back in the queue (operator), and the
 * alerts firing now (viewer).
 */
export function registerNotifyRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const notify = () => {
    if (!deps.notify) throw new ApiError(503, 'UNAVAILABLE', 'notifications are not running on this controller');
    return deps.notify;
  };
  app.post<{ Body: { receiver: string } }>(
    '/v1/notify/test',
    {
      config: { role: 'operator', action: 'notify.test', target: targetFrom<{ receiver: string }>('body', (b) => `receiver:${b.receiver ?? '?'}`) },
      schema: {
        summary: 'send a test message to one receiver now (once, no retries) and say whether it was accepted',
        body: { type: 'object', additionalProperties: false, required: ['receiver'], properties: { receiver: { type: 'string', pattern: NAME_PATTERN } } },
      },
    },
    async (req): Promise<NotifyTestView> => {
      const result = await notify().test(req.body.receiver, req.principal?.name ?? '?');
      req.auditNote = { ...req.auditNote, ...(result.ok ? {} : { outcome: 'error' as const }), detail: result };
      return result;
    },
  );
  app.get<{ Querystring: { limit?: number } }>(
    '/v1/notify/dead-letters',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'messages that could not be delivered after notify.max_attempts (or were refused for good), newest first',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
      },
    },
    async (req): Promise<{ deadLetters: DeadLetterView[] }> => ({ deadLetters: await notify().deadLetters(req.query.limit ?? 100) }),
  );
  app.post<{ Params: { id: string } }>(
    '/v1/notify/dead-letters/:id/retry',
    {
      config: { role: 'operator', action: 'notify.retry', target: paramTarget('message', 'id') },
      schema: {
        summary: 'put a dead letter back in the delivery queue for a new round of attempts',
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', pattern: '^msg-[0-9a-f]{32}$' } } },
      },
    },
    async (req): Promise<DeadLetterRetryView> => {
      await notify().retryDeadLetter(req.params.id);
      return { id: req.params.id, requeued: true };
    },
  );
  app.get(
    '/v1/notify/alerts',
    { config: { role: 'viewer' }, schema: { summary: 'alerts firing now' } },
    async (): Promise<{ alerts: FiringAlertView[] }> => ({
      alerts: await notify().firingAlerts(),
    }),
  );
}
