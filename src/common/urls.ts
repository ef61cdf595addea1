import type { Request } from 'express';

/** An absolute URL on this server for `path`, as the caller reached it. */
export function absoluteUrl(request: Request, path: string): string {
  return `${request.protocol}://${request.get('host') ?? 'localhost'}${path}`;
}
