import { DeploymentEvent } from '../src/deployments/deployment-event.entity';
import { Deployment } from '../src/deployments/deployment.entity';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { AppConfig } from '../src/config/app-config';
import { ADMIN_KEY, bearer, startTestApp, TestApp, waitForOperation } from './helpers/test-app';

describe('Deployments (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  describe('POST /api/v1/deployments', () => {
    it('should create a pending deployment, point Location at it and run its rollout to success', async () => {
      const service = uniqueService();
      const res = await requestDeployment(t, { service, version: '1.4.2', description: 'first' });

      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`/api/v1/deployments/${res.body.id}`);
      expect(res.body).toMatchObject({
        service,
        version: '1.4.2',
        environment: 'staging',
        status: 'pending',
        description: 'first',
        created_by: 'admin',
        started_at: null,
        finished_at: null,
        duration_seconds: null,
        rollback_of: null,
      });
      expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);

      const operation = await waitForOperation(t, res.body.operation_id);
      expect(operation).toMatchObject({
        type: 'deployment.rollout',
        status: 'succeeded',
        progress: 100,
        target: { type: 'deployment', id: res.body.id },
        error: null,
      });
      const after = await t.http().get(`/api/v1/deployments/${res.body.id}`).set(bearer(ADMIN_KEY));
      expect(after.body.status).toBe('successful');
      expect(after.body.duration_seconds).toBeGreaterThan(0);
      expect(after.body.started_at <= after.body.finished_at).toBe(true);
    });

    it('should answer missing and malformed fields with every failing field listed and write nothing', async () => {
      const before = await t.dataSource.getRepository(Deployment).count();
      const res = await t
        .http()
        .post('/api/v1/deployments')
        .set(bearer(ADMIN_KEY))
        .send({ version: 'x'.repeat(129), environment: 'Prod!', extra: true });

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('validation_error');
      const fields = res.body.details.errors.map((e: { field: string }) => e.field).sort();
      expect(fields).toEqual(['environment', 'extra', 'service', 'version']);
      expect(await t.dataSource.getRepository(Deployment).count()).toBe(before);
    });

    it('should say which field is missing in the message', async () => {
      const res = await t
        .http()
        .post('/api/v1/deployments')
        .set(bearer(ADMIN_KEY))
        .send({ version: '1', environment: 'staging' });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('Missing required field: service');
      expect(res.body.details.errors).toEqual([
        { field: 'service', message: 'service is required' },
      ]);
    });

    it('should refuse wrong JSON types', async () => {
      const res = await t
        .http()
        .post('/api/v1/deployments')
        .set(bearer(ADMIN_KEY))
        .send({ service: 42, version: ['1'], environment: { a: 1 } });
      expect(res.status).toBe(400);
      expect(res.body.details.errors).toHaveLength(3);
    });

    it('should answer malformed JSON with 400 validation_error', async () => {
      const res = await t
        .http()
        .post('/api/v1/deployments')
        .set(bearer(ADMIN_KEY))
        .set('Content-Type', 'application/json')
        .send('{"service": ');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error: 'validation_error',
        message: 'Malformed JSON in request body',
      });
      expect(res.body.request_id).toBe(res.headers['x-request-id']);
    });

    it('should answer a body over 1 MiB with 413 payload_too_large', async () => {
      const res = await t
        .http()
        .post('/api/v1/deployments')
        .set(bearer(ADMIN_KEY))
        .send({
          service: 'big',
          version: '1',
          environment: 'staging',
          description: 'x'.repeat(1024 * 1024 + 10),
        });
      expect(res.status).toBe(413);
      expect(res.body.error).toBe('payload_too_large');
    });

    it('should let exactly one of two simultaneous rollouts of a service and environment win', async () => {
      const service = uniqueService('race');
      const results = await Promise.all(
        ['1', '2'].map((version) =>
          requestDeployment(t, { service, version, environment: 'production' }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      const conflict = results.find((r) => r.status === 409)!;
      const winner = results.find((r) => r.status === 201)!;
      expect(conflict.body.error).toBe('conflict');
      expect(conflict.body.details.deployment_id).toBe(winner.body.id);
      const rows = await t.dataSource.getRepository(Deployment).countBy({ service });
      expect(rows).toBe(1);
      await waitForOperation(t, winner.body.operation_id);
    });

    it('should let only one of many concurrent requests win, and allow the next rollout once it ends', async () => {
      const service = uniqueService('herd');
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => requestDeployment(t, { service, version: `${i}` })),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(results.filter((r) => r.status === 409)).toHaveLength(11);
      await waitForOperation(t, results.find((r) => r.status === 201)!.body.operation_id);

      const next = await requestDeployment(t, { service, version: 'next' });
      expect(next.status).toBe(201);
      await waitForOperation(t, next.body.operation_id);
    });

    it('should allow rollouts of the same service to different environments at once', async () => {
      const service = uniqueService();
      const [a, b] = await Promise.all([
        requestDeployment(t, { service, version: '1', environment: 'staging' }),
        requestDeployment(t, { service, version: '1', environment: 'production' }),
      ]);
      expect([a.status, b.status]).toEqual([201, 201]);
      await Promise.all([
        waitForOperation(t, a.body.operation_id),
        waitForOperation(t, b.body.operation_id),
      ]);
    });
  });

  describe('POST /api/v1/deployments/async', () => {
    it('should answer 202 with the operation, a status_url that resolves and Location', async () => {
      const service = uniqueService();
      const res = await t
        .http()
        .post('/api/v1/deployments/async')
        .set(bearer(ADMIN_KEY))
        .send({ service, version: '2.0.0', environment: 'staging' });

      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        type: 'deployment.rollout',
        status: 'pending',
        progress: 0,
      });
      expect(res.body.operation_id).toBe(res.body.id);
      expect(res.headers.location).toBe(res.body.status_url);
      const path = res.body.status_url;
      expect(path).toBe(`/api/v1/operations/${res.body.id}`);
      const op = await t.http().get(path).set(bearer(ADMIN_KEY));
      expect(op.status).toBe(200);
      const deployment = await t
        .http()
        .get(`/api/v1/deployments/${res.body.deployment_id}`)
        .set(bearer(ADMIN_KEY));
      expect(deployment.body).toMatchObject({ service, operation_id: res.body.id });
      await waitForOperation(t, res.body.id);
    });
  });

  describe('GET /api/v1/deployments/{id}', () => {
    it.each([
      'does-not-exist',
      '00000000-0000-0000-0000-000000000000',
      '1',
      "x'; DROP TABLE deployments; --",
    ])('should answer %s with 404 resource_not_found', async (id) => {
      const res = await t
        .http()
        .get(`/api/v1/deployments/${encodeURIComponent(id)}`)
        .set(bearer(ADMIN_KEY));
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('resource_not_found');
    });
  });

  describe('GET /api/v1/deployments/{id}/events', () => {
    it('should list every status the deployment went through, oldest first', async () => {
      const deployment = await deployAndWait(t, { service: uniqueService(), version: '1' });
      const res = await t
        .http()
        .get(`/api/v1/deployments/${deployment.id}/events`)
        .set(bearer(ADMIN_KEY));
      expect(res.status).toBe(200);
      expect(res.body.events.map((e: { status: string }) => e.status)).toEqual([
        'pending',
        'in_progress',
        'successful',
      ]);
      const times = res.body.events.map((e: { at: string }) => e.at);
      expect([...times].sort()).toEqual(times);
      expect(res.body.events[0].message).toBe('Requested by admin');
      const rows = await t.dataSource
        .getRepository(DeploymentEvent)
        .countBy({ deploymentId: deployment.id });
      expect(rows).toBe(3);
    });

    it('should answer 404 for an unknown deployment', async () => {
      const res = await t.http().get('/api/v1/deployments/nope/events').set(bearer(ADMIN_KEY));
      expect(res.status).toBe(404);
    });
  });

  describe('GET /api/v1/deployments', () => {
    const service = uniqueService('list');
    const ids: string[] = [];

    beforeAll(async () => {
      for (const [version, environment] of [
        ['1', 'staging'],
        ['2', 'staging'],
        ['3', 'production'],
        ['4', 'staging'],
        ['5', 'production'],
      ]) {
        ids.push((await deployAndWait(t, { service, version, environment })).id);
      }
    });

    it('should list newest first with total, page and per_page', async () => {
      const res = await t
        .http()
        .get(`/api/v1/deployments?service=${service}`)
        .set(bearer(ADMIN_KEY));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ total: 5, page: 1, per_page: 50 });
      expect(res.body.deployments.map((d: { id: string }) => d.id)).toEqual([...ids].reverse());
    });

    it('should filter by environment and status', async () => {
      const res = await t
        .http()
        .get(`/api/v1/deployments?service=${service}&environment=production&status=successful`)
        .set(bearer(ADMIN_KEY));
      expect(res.body.total).toBe(2);
      expect(res.body.deployments.map((d: { version: string }) => d.version)).toEqual(['5', '3']);
      const none = await t
        .http()
        .get(`/api/v1/deployments?service=${service}&status=failed`)
        .set(bearer(ADMIN_KEY));
      expect(none.body).toMatchObject({ total: 0, deployments: [] });
    });

    it('should page through the list without overlap', async () => {
      const pages = [];
      for (const page of [1, 2, 3]) {
        const res = await t
          .http()
          .get(`/api/v1/deployments?service=${service}&per_page=2&page=${page}`)
          .set(bearer(ADMIN_KEY));
        expect(res.body).toMatchObject({ total: 5, page, per_page: 2 });
        pages.push(...res.body.deployments.map((d: { id: string }) => d.id));
      }
      expect(pages).toEqual([...ids].reverse());
      const beyond = await t
        .http()
        .get(`/api/v1/deployments?service=${service}&per_page=2&page=4`)
        .set(bearer(ADMIN_KEY));
      expect(beyond.body.deployments).toEqual([]);
    });

    it('should say next_cursor on every page but the last', async () => {
      const pageOf = (page: number) =>
        t
          .http()
          .get(`/api/v1/deployments?service=${service}&per_page=2&page=${page}`)
          .set(bearer(ADMIN_KEY));
      expect((await pageOf(1)).body.next_cursor).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
      expect((await pageOf(2)).body.next_cursor).toEqual(expect.any(String));
      expect((await pageOf(3)).body.next_cursor).toBeNull();
      const exact = await t
        .http()
        .get(`/api/v1/deployments?service=${service}&per_page=5`)
        .set(bearer(ADMIN_KEY));
      expect(exact.body).toMatchObject({ total: 5, next_cursor: null });
    });

    it('should walk the list by cursor: every item once, in order, without total or page', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `service=${service}&per_page=2${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await t.http().get(`/api/v1/deployments?${query}`).set(bearer(ADMIN_KEY));
        expect(res.status).toBe(200);
        if (cursor)
          expect(Object.keys(res.body).sort()).toEqual(['deployments', 'next_cursor', 'per_page']);
        seen.push(...res.body.deployments.map((d: { id: string }) => d.id));
        cursor = res.body.next_cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
    });

    it('should neither skip nor repeat when deployments arrive during a walk by cursor', async () => {
      const busy = uniqueService('busy');
      const old: string[] = [];
      for (const version of ['1', '2', '3'])
        old.push((await deployAndWait(t, { service: busy, version })).id);
      const list = (query: string) =>
        t.http().get(`/api/v1/deployments?service=${busy}&${query}`).set(bearer(ADMIN_KEY));
      const first = await list('per_page=2');

      await deployAndWait(t, { service: busy, version: '4' });

      const rest = await list(`per_page=2&cursor=${first.body.next_cursor}`);
      expect(
        [...first.body.deployments, ...rest.body.deployments].map((d: { id: string }) => d.id),
      ).toEqual([...old].reverse());
      expect(rest.body.next_cursor).toBeNull();
      // By page number the newcomer pushes everything along: page 2 repeats the end of page 1.
      const page2 = await list('per_page=2&page=2');
      expect(page2.body.deployments[0].id).toBe(first.body.deployments[1].id);
    });

    it("should refuse another list's cursor, naming that list", async () => {
      const page = await t
        .http()
        .get(`/api/v1/deployments?service=${service}&per_page=2`)
        .set(bearer(ADMIN_KEY));
      const elsewhere = await t
        .http()
        .get(`/api/v1/operations?cursor=${page.body.next_cursor}`)
        .set(bearer(ADMIN_KEY));
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.body.error).toBe('validation_error');
      expect(elsewhere.body.message).toBe(
        'Invalid cursor: it continues the list of deployments, not operations',
      );
      const audit = await t
        .http()
        .get(`/api/v1/audit-events?cursor=${page.body.next_cursor}`)
        .set(bearer(ADMIN_KEY));
      expect(audit.status).toBe(400);
    });

    it.each([
      ['cursor=not-a-cursor', 'Invalid cursor'],
      ['cursor=a%2Bb', 'Invalid cursor'],
      [`cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}`, 'Invalid cursor'],
      [
        `cursor=${Buffer.from('["2026-11-25T10:30:00.120Z","x"]').toString('base64url')}&page=1`,
        'not both',
      ],
    ])('should refuse %s with 400 naming cursor', async (query, message) => {
      const res = await t.http().get(`/api/v1/deployments?${query}`).set(bearer(ADMIN_KEY));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('validation_error');
      expect(res.body.message).toContain(message);
      expect(res.body.details.errors.map((e: { field: string }) => e.field)).toEqual(['cursor']);
    });

    it.each([
      ['per_page=0', 'per_page'],
      ['per_page=101', 'per_page'],
      ['page=0', 'page'],
      ['page=abc', 'page'],
      ['status=done', 'status'],
      ['service=UPPER', 'service'],
      ['environment=a%20b', 'environment'],
      ['colour=red', 'colour'],
    ])('should refuse %s with 400 naming %s', async (query, field) => {
      const res = await t.http().get(`/api/v1/deployments?${query}`).set(bearer(ADMIN_KEY));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('validation_error');
      expect(res.body.details.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('should accept per_page=100', async () => {
      const res = await t.http().get('/api/v1/deployments?per_page=100').set(bearer(ADMIN_KEY));
      expect(res.status).toBe(200);
      expect(res.body.per_page).toBe(100);
    });
  });
});

describe('The URLs Flightdeck hands out (Location, status_url) (e2e)', () => {
  const EVIL = 'evil.example.com';

  /** An async create and a create, both sent with `headers`; their Location and status_url. */
  async function urlsHandedOut(app: TestApp, headers: Record<string, string>) {
    const send = (path: string) =>
      app
        .http()
        .post(path)
        .set(bearer(ADMIN_KEY))
        .set(headers)
        .send({ service: uniqueService('url'), version: '1', environment: 'staging' });
    const asyncRes = await send('/api/v1/deployments/async');
    expect(asyncRes.status).toBe(202);
    const created = await send('/api/v1/deployments');
    expect(created.status).toBe(201);
    await waitForOperation(app, asyncRes.body.operation_id);
    await waitForOperation(app, created.body.operation_id);
    return {
      statusUrl: asyncRes.body.status_url as string,
      statusLocation: asyncRes.headers.location,
      operation: `/api/v1/operations/${asyncRes.body.operation_id}`,
      location: created.headers.location,
      deployment: `/api/v1/deployments/${created.body.id}`,
    };
  }

  it('should answer root-relative URLs by default, whatever the Host and X-Forwarded-* headers say', async () => {
    const app = await startTestApp();
    try {
      const urls = await urlsHandedOut(app, {
        Host: EVIL,
        'X-Forwarded-Host': EVIL,
        'X-Forwarded-Proto': 'https',
      });

      expect(urls.statusUrl).toBe(urls.operation);
      expect(urls.statusLocation).toBe(urls.operation);
      expect(urls.location).toBe(urls.deployment);
      const op = await app.http().get(urls.statusUrl).set(bearer(ADMIN_KEY));
      expect(op.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('should build them on FLIGHTDECK_PUBLIC_URL when set (path prefix kept, trailing slash dropped)', async () => {
    const app = await startTestApp({
      FLIGHTDECK_PUBLIC_URL: 'https://deploy.example.org/flightdeck/',
      FLIGHTDECK_TRUST_PROXY: 'true',
    });
    try {
      const urls = await urlsHandedOut(app, { Host: EVIL, 'X-Forwarded-Host': EVIL });

      expect(urls.statusUrl).toBe(`https://deploy.example.org/flightdeck${urls.operation}`);
      expect(urls.statusLocation).toBe(urls.statusUrl);
      expect(urls.location).toBe(`https://deploy.example.org/flightdeck${urls.deployment}`);
    } finally {
      await app.close();
    }
  });

  it('should take the scheme and host from X-Forwarded-Proto/-Host behind a trusted proxy only', async () => {
    const app = await startTestApp({ FLIGHTDECK_TRUST_PROXY: 'true' });
    try {
      const forwarded = await urlsHandedOut(app, {
        Host: EVIL,
        'X-Forwarded-Host': 'deploy.internal:8443',
        'X-Forwarded-Proto': 'https',
      });
      const direct = await urlsHandedOut(app, { Host: EVIL });
      const malformed = await urlsHandedOut(app, {
        'X-Forwarded-Host': `${EVIL}/x@deploy.internal`,
      });

      expect(forwarded.statusUrl).toBe(`https://deploy.internal:8443${forwarded.operation}`);
      expect(forwarded.statusLocation).toBe(forwarded.statusUrl);
      expect(forwarded.location).toBe(`https://deploy.internal:8443${forwarded.deployment}`);
      expect(direct.statusUrl).toBe(direct.operation);
      expect(direct.location).toBe(direct.deployment);
      expect(malformed.statusUrl).toBe(malformed.operation);
    } finally {
      await app.close();
    }
  });

  it.each([
    'https://user:secret@deploy.example.org',
    'https://deploy.example.org/?token=1',
    'https://deploy.example.org/#top',
    'ftp://deploy.example.org',
    'deploy.example.org',
  ])('should refuse to start with FLIGHTDECK_PUBLIC_URL=%s', (url) => {
    expect(() => AppConfig.fromEnvironment({ FLIGHTDECK_PUBLIC_URL: url })).toThrow(
      /FLIGHTDECK_PUBLIC_URL must be an http\(s\) URL without credentials, query or fragment/,
    );
  });
});
