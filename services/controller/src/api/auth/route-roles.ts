import type { FastifyInstance } from 'fastify';

/**
 * Fail closed: every route must say who may call it (`config.role`: a role,
 * or 'public'). A route registered without one throws while the API starts,
 * so a forgotten role stops the controller instead of publishing the route.
 */
export function requireRouteRoles(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.config?.role === undefined) {
      throw new Error(`API route ${String(route.method)} ${route.url} declares no config.role: give it 'public' or the least role allowed`);
    }
  });
}
