import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';

/**
 * Nest's Express adapter, with one change where it pays: Node's server creates each request and
 * response with the app's Express prototypes already in place.
 *
 * Express 5 hands every request to the app with `Object.setPrototypeOf(req, app.request)` (and
 * the same for `res`). On the V8 of Node 20 and 22, an object whose prototype has been changed
 * gets a new hidden class for each property added to it afterwards, so no two requests share a
 * shape and every property access on them misses its inline cache: over half of a read's CPU.
 * Node's server takes the classes to build requests and responses with (its documented
 * `IncomingMessage`/`ServerResponse` options); when their prototypes are the app's own, Express's
 * `setPrototypeOf` has nothing to change. Node 24's V8 keeps requests' shapes by itself, and
 * there this buys nothing measurable, so it is left out (docs/decisions/001).
 */
export class FlightdeckExpressAdapter extends ExpressAdapter {
  /**
   * `requestTimeoutMs` (`FLIGHTDECK_REQUEST_TIMEOUT_MS`): how long a client has to send a whole
   * request. Without it, Node's defaults (5 minutes). `appPrototypes`: build requests and
   * responses from the app's prototypes; by default where that pays, `appPrototypesPay()`.
   */
  constructor(
    private readonly settings: { requestTimeoutMs?: number; appPrototypes?: boolean } = {},
  ) {
    super();
  }

  override initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions || options?.forceCloseConnections) super.initHttpServer(options);
    else this.httpServer = this.createServer();
    this.answerClientErrors(this.httpServer);
  }

  private createServer(): Server {
    const app = this.getInstance<Express>();
    const classes = (this.settings.appPrototypes ?? appPrototypesPay()) ? appClasses(app) : {};
    return createServer({ ...classes, ...timeouts(this.settings) }, app);
  }

  /**
   * Requests Node refuses before Flightdeck sees them (oversized headers, garbage, a request not
   * received in time) still get the contract's error body, and the connection is closed.
   */
  private answerClientErrors(server: Server): void {
    const timeoutMs = this.settings.requestTimeoutMs;
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      // An answer already on its way cannot be replaced by another one.
      const answering = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
      if (!socket.writable || answering?.headersSent) return socket.destroy();
      const message =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? `The request was not received in full within ${timeoutMs} ms (FLIGHTDECK_REQUEST_TIMEOUT_MS)`
          : error.code === 'HPE_HEADER_OVERFLOW'
            ? 'Request line and headers are larger than 16 KiB'
            : 'Malformed HTTP request';
      const body = JSON.stringify({
        error: 'validation_error',
        message,
        timestamp: new Date().toISOString(),
        request_id: randomUUID(),
      });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  }
}

/**
 * Whether requests built from the app's prototypes pay on this Node: on 20 and 22, where V8 gives
 * each request its own hidden class otherwise, not on 24 and later (docs/decisions/001).
 */
export function appPrototypesPay(version: string = process.versions.node): boolean {
  return Number(version.split('.')[0]) < 24;
}

/**
 * Classes for Node's server to build requests and responses with, whose prototypes are the app's
 * Express prototypes. Subclasses, because V8 keeps one layout for all instances of a derived
 * class; each one inherits from the app's prototype and then takes its place.
 */
function appClasses(app: Express) {
  class AppRequest extends IncomingMessage {}
  Object.setPrototypeOf(AppRequest.prototype, app.request);
  app.request = AppRequest.prototype as unknown as Express['request'];
  class AppResponse extends ServerResponse<AppRequest> {}
  Object.setPrototypeOf(AppResponse.prototype, app.response);
  app.response = AppResponse.prototype as unknown as Express['response'];
  return { IncomingMessage: AppRequest, ServerResponse: AppResponse };
}

/**
 * Node cuts a request that is not received in full within `requestTimeout` (headers within
 * `headersTimeout`), but only looks every `connectionsCheckingInterval` (30 s by default), so a
 * 30 s limit took up to a minute. Looking ten times per limit (at most once a second) cuts it
 * within a tenth more than the limit.
 */
function timeouts({ requestTimeoutMs }: { requestTimeoutMs?: number }) {
  if (requestTimeoutMs === undefined) return {};
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(requestTimeoutMs, 20_000),
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(requestTimeoutMs / 10)),
  };
}
