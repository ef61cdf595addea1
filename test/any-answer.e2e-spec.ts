import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Controller, HttpCode, Module, Param, Post, Res } from '@nestjs/common';
import type { Response as ExpressResponse } from 'express';
import type { Response } from 'supertest';
import { RequirePermissions } from '../src/auth/auth.decorators';
import { Permission } from '../src/auth/permission.enum';
import { auditEventOf } from './helpers/audit';
import { ADMIN_KEY, bearer, eventually, startTestApp, TestApp } from './helpers/test-app';

/** How often each route below really ran (a replay does not run it). */
const ran = { create: 0, polish: 0, note: 0, slow: 0 };

/** Lets a test hold the slow route until its client has left. */
let slowStarted: () => void = () => undefined;
let releaseSlow: () => void = () => undefined;

/**
 * Routes the service does not have, answering in the ways a route may: `res.end` with JSON, an
 * empty 204, text written in pieces, and a plain return (which Nest sends with `res.json`).
 */
@Controller('api/v1/widgets')
class WidgetsController {
  @Post()
  @RequirePermissions(Permission.DeploymentsCreate)
  create(@Res() res: ExpressResponse): void {
    ran.create += 1;
    res
      .status(201)
      .type('application/json')
      .end(JSON.stringify({ id: `widget-${ran.create}` }));
  }

  @Post(':id/polish')
  @HttpCode(204)
  @RequirePermissions(Permission.DeploymentsCreate)
  polish(): void {
    ran.polish += 1;
  }

  @Post(':id/notes')
  @RequirePermissions(Permission.DeploymentsCreate)
  note(@Param('id') id: string, @Res() res: ExpressResponse): void {
    ran.note += 1;
    res.status(202).type('text/plain');
    res.write(`note ${ran.note} `);
    res.end(`on ${id}`);
  }

  @Post('slow')
  @RequirePermissions(Permission.DeploymentsCreate)
  async slow(): Promise<{ id: string }> {
    const released = new Promise<void>((resolve) => (releaseSlow = resolve));
    slowStarted();
    await released;
    ran.slow += 1;
    return { id: `slow-${ran.slow}` };
  }
}

@Module({ controllers: [WidgetsController] })
class WidgetsModule {}

describe('Idempotency and the audit log on any answer (e2e)', () => {
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    t = await startTestApp({}, undefined, [WidgetsModule]);
    await t.app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await t.close();
  });

  const post = (path: string, key: string) =>
    t.http().post(path).set(bearer(ADMIN_KEY)).set('Idempotency-Key', key).send({});

  /** What a client sees of an answer. */
  const seen = (res: Response) => ({
    status: res.status,
    type: res.headers['content-type'] as string | undefined,
    body: res.text,
  });

  describe('an answer not sent with res.json is kept and replayed', () => {
    it('should replay an answer sent with res.end: same status, type and body, the route run once', async () => {
      const key = randomUUID();
      const before = ran.create;

      const first = await post('/api/v1/widgets', key);
      const retry = await post('/api/v1/widgets', key);

      expect(first.status).toBe(201);
      expect(seen(retry)).toEqual(seen(first));
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(ran.create).toBe(before + 1);
    });

    it('should replay an empty 204', async () => {
      const key = randomUUID();
      const before = ran.polish;

      const first = await post('/api/v1/widgets/w-7/polish', key);
      const retry = await post('/api/v1/widgets/w-7/polish', key);

      expect([first.status, retry.status]).toEqual([204, 204]);
      expect(retry.text).toBe('');
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(ran.polish).toBe(before + 1);
    });

    it('should replay text written in pieces as the same text', async () => {
      const key = randomUUID();
      const before = ran.note;

      const first = await post('/api/v1/widgets/w-8/notes', key);
      const retry = await post('/api/v1/widgets/w-8/notes', key);

      expect(seen(first)).toEqual({
        status: 202,
        type: 'text/plain; charset=utf-8',
        body: `note ${before + 1} on w-8`,
      });
      expect(seen(retry)).toEqual(seen(first));
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(ran.note).toBe(before + 1);
    });

    it('should keep the answer of a request whose client left before it came, for the retry', async () => {
      const key = randomUUID();
      const started = new Promise<void>((resolve) => (slowStarted = resolve));
      const leaving = new AbortController();
      const gone = fetch(`${url}/api/v1/widgets/slow`, {
        method: 'POST',
        headers: {
          ...bearer(ADMIN_KEY),
          'Idempotency-Key': key,
          'content-type': 'application/json',
        },
        body: '{}',
        signal: leaving.signal,
      }).catch((error: unknown) => error);
      await started;
      leaving.abort();
      expect(await gone).toMatchObject({ name: 'AbortError' });
      releaseSlow();

      // The first request is still finishing its answer for nobody: retries wait their turn.
      let retry!: Response;
      await eventually(async () => {
        retry = await post('/api/v1/widgets/slow', key);
        return retry.status !== 409;
      });

      expect(retry.status).toBe(201);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body).toEqual({ id: `slow-${ran.slow}` });
      expect(ran.slow).toBe(1);
    });
  });

  describe('the audit log names the route that matched', () => {
    it('should record a new route by its pattern and id, replayed or not', async () => {
      const key = randomUUID();

      const first = await post('/api/v1/widgets/w-9/polish', key);
      const replay = await post('/api/v1/widgets/w-9/polish', key);

      for (const res of [first, replay]) {
        expect(await auditEventOf(t, res)).toMatchObject({
          action: 'POST /api/v1/widgets/:id/polish',
          target: { type: null, id: 'w-9' },
          outcome: 'succeeded',
          status: 204,
        });
      }
    });

    it('should record what a POST created when its answer was sent with res.end', async () => {
      const created = await post('/api/v1/widgets', randomUUID());

      expect(await auditEventOf(t, created)).toMatchObject({
        action: 'POST /api/v1/widgets',
        target: { type: null, id: JSON.parse(created.text).id },
        status: 201,
      });
    });
  });
});
