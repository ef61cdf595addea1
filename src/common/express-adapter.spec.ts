import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express, Request, Response } from 'express';
import { appPrototypesPay, FlightdeckExpressAdapter } from './express-adapter';

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: string;
}

interface Served {
  arrivedWithAppPrototypes: boolean[];
  request(path: string, init?: RequestInit): Promise<Answer>;
  close(): Promise<void>;
}

/** An Express app behind the adapter's server, using what Express adds to requests and responses. */
async function serve(adapter: ExpressAdapter): Promise<Served> {
  adapter.initHttpServer({});
  const app = adapter.getInstance<Express>();
  const server = adapter.getHttpServer() as Server;
  const arrivedWithAppPrototypes: boolean[] = [];
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) =>
    arrivedWithAppPrototypes.push(
      Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response,
    ),
  );
  app.get('/things/:id', (req: Request, res: Response) => {
    res.locals.seen = true;
    res.status(200).json({
      id: req.params.id,
      query: req.query,
      host: req.get('host'),
      protocol: req.protocol,
      ip: typeof req.ip,
      accepts: req.accepts(['text', 'json']),
      app: req.app === app,
      locals: res.locals.seen,
    });
  });
  app.get('/moved', (_req: Request, res: Response) => res.redirect(301, '/things/1'));
  app.get('/text', (_req: Request, res: Response) =>
    res.set('X-Custom', 'yes').cookie('session', 'abc', { httpOnly: true }).type('text').send('hi'),
  );
  app.get('/empty', (_req: Request, res: Response) => res.sendStatus(204));
  app.post('/echo', (req: Request, res: Response) =>
    res.status(201).json({ json: req.is('application/json'), length: req.get('content-length') }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    arrivedWithAppPrototypes,
    request: async (path, init) => {
      const response = await fetch(base + path, { redirect: 'manual', ...init });
      const pick = ['content-type', 'location', 'x-custom', 'set-cookie', 'x-powered-by'];
      return {
        status: response.status,
        headers: Object.fromEntries(pick.map((h) => [h, response.headers.get(h)])),
        body: (await response.text()).replace(/127\.0\.0\.1:\d+/, 'HOST'),
      };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The same requests, answered by a server on the given adapter. */
async function answersOf(adapter: ExpressAdapter): Promise<Answer[]> {
  const served = await serve(adapter);
  try {
    return [
      await served.request('/things/42?service=web&environment=prod', {
        headers: { accept: 'application/json' },
      }),
      await served.request('/moved'),
      await served.request('/text'),
      await served.request('/empty'),
      await served.request('/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      }),
      await served.request('/nowhere'),
    ];
  } finally {
    await served.close();
  }
}

describe('FlightdeckExpressAdapter', () => {
  it('should build requests and responses with the app’s own prototypes when asked to', async () => {
    const served = await serve(new FlightdeckExpressAdapter({ appPrototypes: true }));
    try {
      await served.request('/things/1');
      await served.request('/text');
      expect(served.arrivedWithAppPrototypes).toEqual([true, true]);
    } finally {
      await served.close();
    }
  });

  it('should leave requests and responses to Express when asked not to', async () => {
    const served = await serve(new FlightdeckExpressAdapter({ appPrototypes: false }));
    try {
      await served.request('/things/1');
      expect(served.arrivedWithAppPrototypes).toEqual([false]);
    } finally {
      await served.close();
    }
  });

  it('should build them from the app’s prototypes by default on Node 20 and 22 only', () => {
    expect(['20.19.0', '22.12.0', '24.0.0', '26.1.0'].map((v) => appPrototypesPay(v))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it.each([true, false])(
    'should answer every request exactly as Nest’s own Express adapter does (app prototypes: %s)',
    async (appPrototypes) => {
      const ours = await answersOf(new FlightdeckExpressAdapter({ appPrototypes }));
      expect(ours).toEqual(await answersOf(new ExpressAdapter()));
      expect(ours[0]).toMatchObject({ status: 200 });
      expect(JSON.parse(ours[0].body)).toEqual({
        id: '42',
        query: { service: 'web', environment: 'prod' },
        host: 'HOST',
        protocol: 'http',
        ip: 'string',
        accepts: 'json',
        app: true,
        locals: true,
      });
      expect(ours[1]).toMatchObject({ status: 301, headers: { location: '/things/1' } });
      expect(ours[2]).toMatchObject({
        status: 200,
        body: 'hi',
        headers: { 'x-custom': 'yes', 'set-cookie': 'session=abc; Path=/; HttpOnly' },
      });
      expect(ours[3]).toMatchObject({ status: 204, body: '' });
      expect(JSON.parse(ours[4].body)).toEqual({ json: 'application/json', length: '7' });
      expect(ours[5].status).toBe(404);
    },
  );
});
