import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';

/**
 * Nest's Express adapter, with one change: Node's server creates each request and response with
 * the app's Express prototypes already in place.
 *
 * Express 5 hands every request to the app with `Object.setPrototypeOf(req, app.request)` (and
 * the same for `res`). On V8, an object whose prototype has been changed gets a new hidden class
 * for each property added to it afterwards, so no two requests share a shape and every property
 * access on them, in Node's HTTP code, Express, Nest and Flightdeck alike, misses its inline
 * cache: over half of a read's CPU (docs/decisions/001). Node's server takes the classes to build
 * requests and responses with (its documented `IncomingMessage`/`ServerResponse` options); when
 * their prototypes are the app's own, Express's `setPrototypeOf` has nothing to change.
 */
export class FlightdeckExpressAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions || options?.forceCloseConnections)
      return super.initHttpServer(options);
    const app = this.getInstance<Express>();

    // Subclasses, because V8 keeps one layout for all instances of a derived class; each one
    // inherits from the app's prototype and then takes its place.
    class AppRequest extends IncomingMessage {}
    Object.setPrototypeOf(AppRequest.prototype, app.request);
    app.request = AppRequest.prototype as unknown as Express['request'];
    class AppResponse extends ServerResponse<AppRequest> {}
    Object.setPrototypeOf(AppResponse.prototype, app.response);
    app.response = AppResponse.prototype as unknown as Express['response'];

    this.httpServer = createServer(
      { IncomingMessage: AppRequest, ServerResponse: AppResponse },
      app,
    );
  }
}
