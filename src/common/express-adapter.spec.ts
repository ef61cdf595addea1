import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInThisContext } from 'node:vm';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express, Request, Response } from 'express';
import { FlightdeckExpressAdapter } from './express-adapter';

// V8's own answer to "do these two objects have the same hidden class?"
setFlagsFromString('--allow-natives-syntax');
const sameHiddenClass = runInThisContext('(a, b) => %HaveSameMap(a, b)') as (
  a: object,
  b: object,
) => boolean;

interface Served {
  arrived: Array<{ req: IncomingMessage; res: ServerResponse; ownPrototypes: boolean }>;
  handled: Array<{ req: Request; res: Response }>;
  get(path: string): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

/** An Express app behind the adapter's server, recording requests as they arrive and as handled. */
async function serve(adapter: ExpressAdapter): Promise<Served> {
  adapter.initHttpServer({});
  const app = adapter.getInstance<Express>();
  const server = adapter.getHttpServer() as Server;
  const arrived: Served['arrived'] = [];
  const handled: Served['handled'] = [];
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) =>
    arrived.push({
      req,
      res,
      ownPrototypes:
        Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response,
    }),
  );
  app.get('/things/:id', (req: Request, res: Response) => {
    req.res!.locals.seen = true;
    (req as Request & { extra?: number }).extra = 1;
    handled.push({ req, res });
    res.status(200).json({
      id: req.params.id,
      query: req.query,
      host: req.get('host'),
      app: req.app === app,
      locals: res.locals.seen,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    arrived,
    handled,
    get: async (path) => {
      const response = await fetch(base + path);
      return { status: response.status, body: await response.json() };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('FlightdeckExpressAdapter', () => {
  it('builds requests and responses with the app’s prototypes, so Express changes nothing', async () => {
    const served = await serve(new FlightdeckExpressAdapter());
    try {
      await served.get('/things/1');
      expect(served.arrived.map((a) => a.ownPrototypes)).toEqual([true]);
    } finally {
      await served.close();
    }
  });

  it('gives every request and response one hidden class (plain Nest: a new one per request)', async () => {
    const shapesAlike = async (adapter: ExpressAdapter) => {
      const served = await serve(adapter);
      try {
        for (let i = 0; i < 3; i++) await served.get(`/things/${i}?page=${i}`);
        const [a, b, c] = served.handled;
        return [
          sameHiddenClass(a.req, b.req) && sameHiddenClass(b.req, c.req),
          sameHiddenClass(a.res, b.res) && sameHiddenClass(b.res, c.res),
        ];
      } finally {
        await served.close();
      }
    };
    expect(await shapesAlike(new FlightdeckExpressAdapter())).toEqual([true, true]);
    // What the adapter works around. Should a newer V8 keep one hidden class here by itself,
    // this line fails, and the adapter is no longer needed.
    expect(await shapesAlike(new ExpressAdapter())).toEqual([false, false]);
  });

  it('keeps everything Express adds: params, query, headers, req.app, locals, json', async () => {
    const served = await serve(new FlightdeckExpressAdapter());
    try {
      const answer = await served.get('/things/42?service=web&environment=prod');
      expect(answer).toEqual({
        status: 200,
        body: {
          id: '42',
          query: { service: 'web', environment: 'prod' },
          host: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
          app: true,
          locals: true,
        },
      });
    } finally {
      await served.close();
    }
  });
});
