/**
 * Routes of the HTTP contracts between edge and media nodes (shared/control.ts, shared/node-api.ts): a
 * route is written once, in its table, as a Hono path ('/v1/rooms/:room/close'); the sender builds the
 * URL from it and the receiver registers it, so that an operation and its path cannot disagree.
 */

/** The parameter names of a route: RouteParamName<'/a/:x/b/:y'> is 'x' | 'y'. */
export type RouteParamName<R extends string> = R extends `${string}:${infer P}/${infer Rest}`
  ? P | RouteParamName<`/${Rest}`>
  : R extends `${string}:${infer P}`
    ? P
    : never;

/** The values of a route's parameters, one string each. */
export type RouteParams<R extends string> = { [K in RouteParamName<R>]: string };

/** The path of `route` with each `:param` replaced by its value, URL-encoded (typed by controlPath, nodeApiPath). */
export function buildPath(route: string, params: Readonly<Record<string, string>>): string {
  return route.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`route ${route}: no value for :${name}`);
    return encodeURIComponent(value);
  });
}
