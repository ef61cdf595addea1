import type { Request } from 'express';

/** A route as a request matched it: its pattern (`/api/v1/deployments/:id`) and parameter values. */
export interface MatchedRoute {
  pattern: string;
  params: Record<string, string>;
}

/** What Express's router keeps of a route (`router` 2: `Layer#match` stores nothing on the layer). */
interface RouteLayer {
  route?: { path: string; _handlesMethod(method: string): boolean };
  match(path: string): { params: Record<string, string> } | false;
}

/**
 * The route a request matched, as Express matched it (`req.route`, under the router's base path).
 * A request answered before routing (an idempotent replay, a refusal by a middleware) gets the
 * route the app's router would have given it; a path no route takes, undefined. New routes need
 * nothing here: the pattern is the one they were declared with.
 */
export function matchedRoute(req: Request): MatchedRoute | undefined {
  const route = req.route as { path?: unknown } | undefined;
  if (typeof route?.path === 'string')
    return { pattern: req.baseUrl + route.path, params: req.params as Record<string, string> };
  const { stack } = (req.app as unknown as { router: { stack: RouteLayer[] } }).router;
  const path = pathOf(req);
  for (const layer of stack) {
    if (!layer.route?._handlesMethod(req.method)) continue;
    let match: ReturnType<RouteLayer['match']>;
    try {
      match = layer.match(path);
    } catch {
      return undefined; // a parameter that does not decode: the router answers 400, no route
    }
    if (match) return { pattern: layer.route.path, params: match.params };
  }
  return undefined;
}

/**
 * The path a request asked for, without its query. Not `req.path`: inside a middleware mounted on
 * a path, Express gives that relative to the mount point.
 */
export function pathOf(req: Request): string {
  const query = req.originalUrl.indexOf('?');
  return query === -1 ? req.originalUrl : req.originalUrl.slice(0, query);
}
