import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-types.js';
import { registerHealthRoutes } from './health-routes.js';
import { registerHostRoutes } from './host-routes.js';
import { registerUsageRoutes } from './usage-routes.js';
import { registerProcessRoutes } from './process-routes.js';
import { registerPlacementRoutes } from './placement-routes.js';
import { registerOperationRoutes } from './operation-routes.js';
import { registerEventRoutes } from './event-routes.js';
import { registerRolloutRoutes } from './rollout-routes.js';
import { registerTokenRoutes } from './token-routes.js';
import { registerNotifyRoutes } from './notify-routes.js';

/** Each routes file and the OpenAPI tag its routes are listed under. */
const ROUTE_GROUPS: readonly (readonly [tag: string, register: (app: FastifyInstance, deps: ApiDeps) => void])[] = [
  ['health', registerHealthRoutes],
  ['hosts', registerHostRoutes],
  ['hosts', registerUsageRoutes],
  ['alarms', registerProcessRoutes],
  ['placement', registerPlacementRoutes],
  ['operations', registerOperationRoutes],
  ['events', registerEventRoutes],
  ['rollouts', registerRolloutRoutes],
  ['tokens', registerTokenRoutes],
  ['notify', registerNotifyRoutes],
];

/**
 * Registers the API's routes files, each in its own Fastify context that
 * gives its routes their OpenAPI tag, so a route states only its own summary
 * and shapes. The contexts inherit the server's hooks (authentication,
 * roles, audit) and its error handler.
 */
export async function registerRouteGroups(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  for (const [tag, register] of ROUTE_GROUPS) {
    await app.register(async (group) => {
      group.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, tags: [tag] };
      });
      register(group, deps);
    });
  }
}
