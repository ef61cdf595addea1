import type { Request } from 'express';
import type { AppConfig } from '../config/app-config';

/** A host name, IPv4 or bracketed IPv6 address, with an optional port: nothing else goes in a URL. */
const HOST = /^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/;

/**
 * The URL of `path` on this server as a client should use it: under `FLIGHTDECK_PUBLIC_URL` when
 * set; behind a trusted proxy (`FLIGHTDECK_TRUST_PROXY`), on the scheme and host it forwarded;
 * otherwise root-relative. Never built from the `Host` header, which any client can set.
 */
export function publicUrl(
  config: Pick<AppConfig, 'publicUrl' | 'trustProxy'>,
  request: Request,
  path: string,
): string {
  if (config.publicUrl) return config.publicUrl + path;
  // With `trust proxy` on, Express reads req.protocol and req.host from X-Forwarded-Proto/-Host.
  if (config.trustProxy && request.get('x-forwarded-host')) {
    const host = request.host;
    const scheme = request.protocol.toLowerCase() === 'https' ? 'https' : 'http';
    if (host && HOST.test(host)) return `${scheme}://${host}${path}`;
  }
  return path;
}

/**
 * A URL or path with every query value written `***` (`/x?api_key=***&page=***`; a part without
 * `=` is all value: `?***`), and no fragment. Whatever a client puts in a query string may be a
 * secret, so logs and messages show only the names. A URL without a query is returned as it is.
 */
export function withoutQueryValues(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const fragment = url.indexOf('#', query);
  const parts = url
    .slice(query + 1, fragment === -1 ? undefined : fragment)
    .split('&')
    .filter((part) => part !== '')
    .map((part) => (part.includes('=') ? `${part.slice(0, part.indexOf('='))}=***` : '***'));
  return parts.length > 0 ? `${url.slice(0, query)}?${parts.join('&')}` : url.slice(0, query);
}
