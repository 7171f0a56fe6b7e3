import type { FastifyInstance } from 'fastify';
import type { AuditRecordView, CreatedTokenView, TokenRevokeView, TokenView } from '@smgr/shared';
import type { ApiDeps } from '../api-types.js';
import { paramTarget, targetFrom } from './audit-target.js';
import { ROLES, type Role } from '../auth/roles.js';
import { TOKEN_NAME_PATTERN } from '../auth/token-store.js';
import { limitQuery } from './schemas.js';

interface CreateTokenBody {
  name: string;
  role: Role;
  expiresInDays?: number;
}

/** /v1/tokens (admin): create, list, revoke API tokens; GET /v1/audit (admin): the audit trail. */
export function registerTokenRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/v1/tokens',
    { config: { role: 'admin' }, schema: { summary: 'API tokens (names, roles, dates; never secrets)' } },
    async (): Promise<{ tokens: TokenView[] }> => ({
      tokens: await deps.tokens.list(),
    }),
  );

  app.post<{ Body: CreateTokenBody }>(
    '/v1/tokens',
    {
      config: {
        role: 'admin',
        action: 'token.create',
        target: targetFrom<CreateTokenBody>('body', (b) => `token:${b.name ?? '?'}`),
      },
      schema: {
        summary: 'create a token; its secret is in this answer only',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'role'],
          properties: {
            name: { type: 'string', pattern: TOKEN_NAME_PATTERN },
            role: { type: 'string', enum: [...ROLES] },
            expiresInDays: { type: 'number', exclusiveMinimum: 0, maximum: 3650, description: 'default: api.token_ttl_days (0: never)' },
          },
        },
      },
    },
    async (req, reply): Promise<CreatedTokenView> => {
      const b = req.body;
      const ttlMs = b.expiresInDays !== undefined ? Math.round(b.expiresInDays * 86_400_000) : deps.tokenTtlMs;
      const { token, info } = await deps.tokens.create({ name: b.name, role: b.role, createdBy: req.principal?.name ?? '?', ttlMs });
      req.auditNote = { ...req.auditNote, detail: { role: b.role, expiresAt: info.expiresAt } };
      void reply.code(201);
      return { ...info, token };
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/v1/tokens/:name',
    {
      config: { role: 'admin', action: 'token.revoke', target: paramTarget('token', 'name') },
      schema: {
        summary: 'revoke a token; it stops working at once',
        params: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', pattern: TOKEN_NAME_PATTERN } } },
      },
    },
    async (req): Promise<TokenRevokeView> => deps.tokens.revoke(req.params.name),
  );

  app.get<{ Querystring: { limit: number; token?: string; action?: string } }>(
    '/v1/audit',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'the audit trail of changes made through the API, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: limitQuery, token: { type: 'string', maxLength: 64 }, action: { type: 'string', maxLength: 64 } },
        },
      },
    },
    async (req): Promise<{ audit: AuditRecordView[] }> => ({
      audit: await deps.audit.list({
        limit: req.query.limit,
        ...(req.query.token !== undefined ? { tokenName: req.query.token } : {}),
        ...(req.query.action !== undefined ? { action: req.query.action } : {}),
      }),
    }),
  );
}
