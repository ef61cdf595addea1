import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import { auditEventOf, listAuditEvents } from './helpers/audit';
import { writeDriversConfig } from './helpers/drivers-config';
import { ADMIN_KEY, bearer, startTestApp, TestApp, waitForOperation } from './helpers/test-app';

const ALL_PERMISSIONS = [
  'deployments:read',
  'deployments:create',
  'deployments:rollback',
  'operations:read',
  'operations:cancel',
  'keys:manage',
  'audit:read',
  'locks:manage',
  'freezes:manage',
  'deployments:approve',
  'deployments:override',
  'webhooks:manage',
];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** supertest connects over loopback: IPv4, IPv4-mapped IPv6 or IPv6. */
const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$|^::1$/;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const SLOW = writeDriversConfig(`
environments:
  slow: { driver: simulated, duration_ms: 60000 }
`);

describe('Audit log (e2e)', () => {
  let t: TestApp;
  let adminId: string;
  /** A key with every permission and a name of its own, to tell actors apart. */
  let deployer: { id: string; secret: string };

  beforeAll(async () => {
    t = await startTestApp({ FLIGHTDECK_CONFIG: SLOW });
    adminId = (await t.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY))).body.id;
    deployer = await createKey(t, { name: 'audit-deployer', permissions: ALL_PERMISSIONS });
  });

  afterAll(async () => {
    await t.close();
  });

  const list = (query: Record<string, string | number> = {}, secret = ADMIN_KEY) =>
    listAuditEvents(t, query, secret);
  const rowsWithRequestId = (requestId: string) =>
    t.dataSource.getRepository(AuditEvent).countBy({ requestId });
  const eventOf = (res: Response) => auditEventOf(t, res);

  function expectFreshEvent(event: Record<string, any>): void {
    expect(event.at).toMatch(RFC3339);
    expect(Math.abs(Date.parse(event.at) - Date.now())).toBeLessThan(60_000);
    expect(event.source_ip).toMatch(LOOPBACK);
  }

  describe('mutating requests', () => {
    it('should record POST /api/v1/deployments with the actor, action, target, outcome and request id', async () => {
      const res = await requestDeployment(
        t,
        { service: uniqueService('audit'), version: '1.0.0' },
        deployer.secret,
      );
      expect(res.status).toBe(201);

      const event = await eventOf(res);

      expect(event).toMatchObject({
        request_id: res.headers['x-request-id'],
        actor: { key_id: deployer.id, name: 'audit-deployer' },
        action: 'POST /api/v1/deployments',
        target: { type: 'deployment', id: res.body.id },
        outcome: 'succeeded',
        status: 201,
        error_code: null,
      });
      expectFreshEvent(event);
      await waitForOperation(t, res.body.operation_id);
    });

    it('should keep the caller-sent X-Request-Id as the event request id', async () => {
      const requestId = `audit-${randomUUID()}`;
      const res = await t
        .http()
        .post('/api/v1/deployments')
        .set(bearer(ADMIN_KEY))
        .set('X-Request-Id', requestId)
        .send({ service: uniqueService('rid'), version: '1', environment: 'staging' });
      expect(res.status).toBe(201);
      expect(res.headers['x-request-id']).toBe(requestId);

      const event = await eventOf(res);

      expect(event.request_id).toBe(requestId);
      expect(event.actor).toEqual({ key_id: adminId, name: 'admin' });
      await waitForOperation(t, res.body.operation_id);
    });

    it('should record POST /api/v1/deployments/async with the actor, action and outcome', async () => {
      const res = await t
        .http()
        .post('/api/v1/deployments/async')
        .set(bearer(deployer.secret))
        .send({ service: uniqueService('async'), version: '2', environment: 'staging' });
      expect(res.status).toBe(202);

      const event = await eventOf(res);

      expect(event).toMatchObject({
        actor: { key_id: deployer.id, name: 'audit-deployer' },
        action: 'POST /api/v1/deployments/async',
        outcome: 'succeeded',
        status: 202,
      });
      expect(event.target.type).toBe('deployment');
      await waitForOperation(t, res.body.operation_id);
    });

    it('should record POST /api/v1/deployments/async against the deployment it created', async () => {
      const res = await t
        .http()
        .post('/api/v1/deployments/async')
        .set(bearer(deployer.secret))
        .send({ service: uniqueService('async'), version: '3', environment: 'staging' });
      const event = await eventOf(res);
      expect(event.target).toEqual({ type: 'deployment', id: res.body.deployment_id });
      await waitForOperation(t, res.body.operation_id);
    });

    it('should record POST /api/v1/deployments/{id}/rollback against the rolled-back deployment', async () => {
      const service = uniqueService('rb');
      await deployAndWait(t, { service, version: '1' });
      const second = await deployAndWait(t, { service, version: '2' });

      const res = await t
        .http()
        .post(`/api/v1/deployments/${second.id}/rollback`)
        .set(bearer(deployer.secret))
        .send({ reason: 'bad release' });
      expect(res.status).toBe(202);

      const event = await eventOf(res);

      expect(event).toMatchObject({
        actor: { key_id: deployer.id, name: 'audit-deployer' },
        action: 'POST /api/v1/deployments/:id/rollback',
        target: { type: 'deployment', id: second.id },
        outcome: 'succeeded',
        status: 202,
      });
      await waitForOperation(t, res.body.operation_id);
    });

    it('should record POST /api/v1/operations/{id}/cancel against the operation, and a refused cancel as failed', async () => {
      const created = await requestDeployment(t, {
        service: uniqueService('cancel'),
        version: '1',
        environment: 'slow',
      });
      const opId = created.body.operation_id;

      const res = await t
        .http()
        .post(`/api/v1/operations/${opId}/cancel`)
        .set(bearer(deployer.secret));
      expect(res.status).toBe(202);
      const event = await eventOf(res);
      expect(event).toMatchObject({
        actor: { key_id: deployer.id, name: 'audit-deployer' },
        action: 'POST /api/v1/operations/:id/cancel',
        target: { type: 'operation', id: opId },
        outcome: 'succeeded',
        status: 202,
        error_code: null,
      });

      expect((await waitForOperation(t, opId)).status).toBe('cancelled');
      const again = await t
        .http()
        .post(`/api/v1/operations/${opId}/cancel`)
        .set(bearer(deployer.secret));
      expect(again.status).toBe(409);
      const refused = await eventOf(again);
      expect(refused).toMatchObject({
        action: 'POST /api/v1/operations/:id/cancel',
        target: { type: 'operation', id: opId },
        outcome: 'failed',
        status: 409,
        error_code: 'conflict',
      });
    });

    it('should record creating and revoking an API key against that key', async () => {
      const created = await t
        .http()
        .post('/api/v1/auth/keys')
        .set(bearer(deployer.secret))
        .send({ name: 'short-lived', permissions: ['deployments:read'], environments: ['*'] });
      expect(created.status).toBe(201);
      const createdEvent = await eventOf(created);
      expect(createdEvent).toMatchObject({
        actor: { key_id: deployer.id, name: 'audit-deployer' },
        action: 'POST /api/v1/auth/keys',
        target: { type: 'api_key', id: created.body.id },
        outcome: 'succeeded',
        status: 201,
      });

      const revoked = await t
        .http()
        .delete(`/api/v1/auth/keys/${created.body.id}`)
        .set(bearer(deployer.secret));
      expect(revoked.status).toBe(204);
      const revokedEvent = await eventOf(revoked);
      expect(revokedEvent).toMatchObject({
        actor: { key_id: deployer.id, name: 'audit-deployer' },
        action: 'DELETE /api/v1/auth/keys/:id',
        target: { type: 'api_key', id: created.body.id },
        outcome: 'succeeded',
        status: 204,
        error_code: null,
      });
    });

    it('should record a refused mutation (400) as failed with its error code', async () => {
      const res = await t
        .http()
        .post('/api/v1/deployments')
        .set(bearer(deployer.secret))
        .send({ service: uniqueService('bad') });
      expect(res.status).toBe(400);

      const event = await eventOf(res);

      expect(event).toMatchObject({
        actor: { key_id: deployer.id, name: 'audit-deployer' },
        action: 'POST /api/v1/deployments',
        outcome: 'failed',
        status: 400,
        error_code: 'validation_error',
      });
    });

    it('should record a replayed POST (Idempotency-Key) once, with its own request id', async () => {
      const key = randomUUID();
      const body = { service: uniqueService('replay'), version: '1', environment: 'staging' };
      const send = () =>
        t
          .http()
          .post('/api/v1/deployments')
          .set(bearer(deployer.secret))
          .set('Idempotency-Key', key)
          .send(body);
      const first = await send();
      const replay = await send();
      expect(first.status).toBe(201);
      expect(replay.status).toBe(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');

      const event = await eventOf(replay);

      expect(event).toMatchObject({ outcome: 'succeeded', status: 201 });
      expect(event.request_id).not.toBe(first.headers['x-request-id']);
      await waitForOperation(t, first.body.operation_id);
    });

    it('should record a replayed POST with the actor, the route pattern and the target', async () => {
      const key = randomUUID();
      const body = { service: uniqueService('replay'), version: '1', environment: 'staging' };
      const send = () =>
        t
          .http()
          .post('/api/v1/deployments')
          .set(bearer(deployer.secret))
          .set('Idempotency-Key', key)
          .send(body);
      const first = await send();
      const replay = await send();
      expect(replay.headers['idempotent-replayed']).toBe('true');

      const event = await eventOf(replay);

      expect(event).toMatchObject({
        actor: { key_id: deployer.id, name: 'audit-deployer' },
        action: 'POST /api/v1/deployments',
        target: { type: 'deployment', id: first.body.id },
        outcome: 'succeeded',
        status: 201,
      });
      await waitForOperation(t, first.body.operation_id);
    });
  });

  describe('refused requests', () => {
    it('should record a 401 without a key, also on a GET route, with no actor and outcome denied', async () => {
      const res = await t.http().get('/api/v1/deployments');
      expect(res.status).toBe(401);

      const event = await eventOf(res);

      expect(event).toMatchObject({
        request_id: res.headers['x-request-id'],
        actor: null,
        action: 'GET /api/v1/deployments',
        outcome: 'denied',
        status: 401,
      });
      expectFreshEvent(event);
    });

    it('should record the error code (authentication_error, authorization_error) of a refused GET', async () => {
      const unauthenticated = await t.http().get('/api/v1/deployments');
      expect((await eventOf(unauthenticated)).error_code).toBe('authentication_error');
      const reader = await createKey(t, { name: 'no-audit', permissions: ['deployments:read'] });
      const forbidden = await t.http().get('/api/v1/audit-events').set(bearer(reader.secret));
      expect(forbidden.status).toBe(403);
      expect((await eventOf(forbidden)).error_code).toBe('authorization_error');
    });

    it('should record a 401 with a made-up key, naming the target it tried', async () => {
      const made = `fdk_${randomBytes(32).toString('base64url')}`;
      const opId = randomUUID();
      const res = await t.http().get(`/api/v1/operations/${opId}`).set(bearer(made));
      expect(res.status).toBe(401);

      const event = await eventOf(res);

      expect(event).toMatchObject({
        actor: null,
        action: 'GET /api/v1/operations/:id',
        target: { type: 'operation', id: opId },
        outcome: 'denied',
        status: 401,
      });
    });

    it('should record a request to a very long path with its action cut to 160 characters, and the requests beside it', async () => {
      const longPath = `/api/v1/deployments/${Array.from({ length: 60 }, (_, i) => `segment-${i}`).join('/')}`;
      // Refused requests to the long path arrive together with valid ones: each is recorded.
      const [refused, ...created] = await Promise.all([
        t.http().delete(longPath).set(bearer('fdk_not-a-real-key-at-all')),
        ...Array.from({ length: 5 }, () =>
          t
            .http()
            .post('/api/v1/deployments')
            .set(bearer(ADMIN_KEY))
            .send({ service: uniqueService('beside'), version: '1', environment: 'staging' }),
        ),
      ]);
      expect(refused.status).toBe(404); // no such route
      expect(created.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);

      const event = await eventOf(refused);
      expect(event).toMatchObject({ status: 404, outcome: 'failed' });
      // No route takes it: it is recorded as it was asked, cut to the column.
      expect(event.action).toBe(`DELETE ${longPath}`.slice(0, 160));
      for (const res of created) expect((await eventOf(res)).status).toBe(201);
    });

    it('should record a 401 on a mutating route', async () => {
      const res = await t
        .http()
        .post('/api/v1/deployments')
        .set(bearer('fdk_not-a-real-key-at-all'))
        .send({ service: uniqueService('anon'), version: '1', environment: 'staging' });
      expect(res.status).toBe(401);

      const event = await eventOf(res);

      expect(event).toMatchObject({
        actor: null,
        action: 'POST /api/v1/deployments',
        outcome: 'denied',
        status: 401,
      });
    });

    it('should record a 403 with the actor and outcome denied, on POST and on GET', async () => {
      const reader = await createKey(t, { name: 'reader-only', permissions: ['deployments:read'] });
      const post = await requestDeployment(
        t,
        { service: uniqueService('forbidden'), version: '1' },
        reader.secret,
      );
      expect(post.status).toBe(403);
      const get = await list({}, reader.secret);
      expect(get.status).toBe(403);

      expect(await eventOf(post)).toMatchObject({
        actor: { key_id: reader.id, name: 'reader-only' },
        action: 'POST /api/v1/deployments',
        outcome: 'denied',
        status: 403,
        error_code: 'authorization_error',
      });
      expect(await eventOf(get)).toMatchObject({
        actor: { key_id: reader.id, name: 'reader-only' },
        action: 'GET /api/v1/audit-events',
        outcome: 'denied',
        status: 403,
      });
    });
  });

  it('should not record successful GETs', async () => {
    const created = await deployAndWait(t, { service: uniqueService('get'), version: '1' });
    const gets = [
      '/api/v1/auth/whoami',
      '/api/v1/deployments',
      `/api/v1/deployments/${created.id}`,
      `/api/v1/deployments/${created.id}/events`,
      '/api/v1/operations',
      '/api/v1/audit-events',
      '/healthz',
      '/metrics',
    ];
    const ids: string[] = [];
    for (const path of gets) {
      const id = `get-${randomUUID()}`;
      const res = await t.http().get(path).set(bearer(ADMIN_KEY)).set('X-Request-Id', id);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      ids.push(id);
    }
    // A mutation after them: once its event is there, theirs would be too.
    const marker = await t
      .http()
      .post('/api/v1/auth/keys')
      .set(bearer(ADMIN_KEY))
      .send({ name: 'marker', permissions: ['deployments:read'], environments: ['*'] });
    await eventOf(marker);

    for (const id of ids)
      expect({ id, rows: await rowsWithRequestId(id) }).toEqual({ id, rows: 0 });
  });

  describe('GET /api/v1/audit-events', () => {
    it('should need audit:read: 403 without it, 200 with only it', async () => {
      const without = await createKey(t, {
        permissions: ALL_PERMISSIONS.filter((p) => p !== 'audit:read'),
      });
      const auditor = await createKey(t, { name: 'auditor', permissions: ['audit:read'] });

      const refused = await list({}, without.secret);
      const allowed = await list({}, auditor.secret);

      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('authorization_error');
      expect(refused.body.audit_events).toBeUndefined();
      expect(allowed.status).toBe(200);
      expect(Array.isArray(allowed.body.audit_events)).toBe(true);
      expect((await t.http().get('/api/v1/audit-events')).status).toBe(401);
    });

    it('should list newest first and paginate with page, per_page and total', async () => {
      const first = await requestDeployment(t, { service: uniqueService('p1'), version: '1' });
      const second = await requestDeployment(t, { service: uniqueService('p2'), version: '1' });
      await eventOf(first);
      await eventOf(second);

      const all = await list({ per_page: 100 });
      expect(all.status).toBe(200);
      expect(all.body.page).toBe(1);
      expect(all.body.per_page).toBe(100);
      expect(all.body.total).toBe(await t.dataSource.getRepository(AuditEvent).count());
      const events = all.body.audit_events as Array<{ at: string; request_id: string; id: string }>;
      expect(events.length).toBe(Math.min(100, all.body.total));
      const ats = events.map((e) => e.at);
      expect(ats).toEqual([...ats].sort().reverse());
      const position = (res: Response) =>
        events.findIndex((e) => e.request_id === res.headers['x-request-id']);
      expect(position(second)).toBeGreaterThanOrEqual(0);
      expect(position(second)).toBeLessThan(position(first));

      const pageOne = await list({ per_page: 2, page: 1 });
      const pageTwo = await list({ per_page: 2, page: 2 });
      expect(pageOne.body).toMatchObject({ page: 1, per_page: 2, total: all.body.total });
      expect(pageTwo.body).toMatchObject({ page: 2, per_page: 2, total: all.body.total });
      expect(pageOne.body.audit_events.map((e: { id: string }) => e.id)).toEqual(
        events.slice(0, 2).map((e) => e.id),
      );
      expect(pageTwo.body.audit_events.map((e: { id: string }) => e.id)).toEqual(
        events.slice(2, 4).map((e) => e.id),
      );
      const beyond = await list({ per_page: 100, page: 1000 });
      expect(beyond.status).toBe(200);
      expect(beyond.body.audit_events).toEqual([]);
      expect(beyond.body.total).toBe(all.body.total);

      await waitForOperation(t, first.body.operation_id);
      await waitForOperation(t, second.body.operation_id);
    });

    it('should filter by actor_key_id, action, target_id and outcome', async () => {
      const actor = await createKey(t, { name: 'filtered', permissions: ALL_PERMISSIONS });
      const mine = await requestDeployment(
        t,
        { service: uniqueService('f'), version: '1' },
        actor.secret,
      );
      const cancel = await t
        .http()
        .post(`/api/v1/operations/${mine.body.operation_id}/cancel`)
        .set(bearer(actor.secret));
      const denied = await t.http().post('/api/v1/deployments').set(bearer('fdk_nope_nope_nope'));
      await eventOf(mine);
      await eventOf(cancel);
      await eventOf(denied);

      const byActor = await list({ actor_key_id: actor.id, per_page: 100 });
      expect(byActor.status).toBe(200);
      expect(byActor.body.total).toBe(2);
      expect(byActor.body.audit_events.map((e: { action: string }) => e.action)).toEqual([
        'POST /api/v1/operations/:id/cancel',
        'POST /api/v1/deployments',
      ]);

      const byAction = await list({ action: 'POST /api/v1/operations/:id/cancel', per_page: 100 });
      expect(byAction.body.total).toBeGreaterThanOrEqual(1);
      for (const e of byAction.body.audit_events)
        expect(e.action).toBe('POST /api/v1/operations/:id/cancel');

      const byTarget = await list({ target_id: mine.body.id });
      expect(byTarget.body.total).toBe(1);
      expect(byTarget.body.audit_events[0].request_id).toBe(mine.headers['x-request-id']);
      const byOperation = await list({ target_id: mine.body.operation_id });
      expect(
        byOperation.body.audit_events.map((e: { request_id: string }) => e.request_id),
      ).toEqual([cancel.headers['x-request-id']]);

      const deniedOnly = await list({ outcome: 'denied', per_page: 100 });
      expect(deniedOnly.body.total).toBeGreaterThanOrEqual(1);
      for (const e of deniedOnly.body.audit_events) {
        expect(e.outcome).toBe('denied');
        expect([401, 403]).toContain(e.status);
      }
      expect(
        deniedOnly.body.audit_events.some(
          (e: { request_id: string }) => e.request_id === denied.headers['x-request-id'],
        ),
      ).toBe(true);

      const combined = await list({ actor_key_id: actor.id, outcome: 'denied' });
      expect(combined.body).toMatchObject({ total: 0, audit_events: [] });
      await waitForOperation(t, mine.body.operation_id);
    });

    it('should walk the same events by cursor as by page number, within since and until', async () => {
      const since = new Date().toISOString();
      for (const n of [1, 2, 3, 4, 5]) {
        await eventOf(
          await requestDeployment(t, { service: uniqueService(`walk${n}`), version: '1' }),
        );
      }
      const until = new Date().toISOString();
      const ids = (res: Response): string[] =>
        res.body.audit_events.map((e: { id: string }) => e.id);
      const all = await list({ since, until, per_page: 100 });
      expect(all.body.total).toBe(5);

      const walked: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await list({ since, until, per_page: 2, ...(cursor ? { cursor } : {}) });
        expect(res.status).toBe(200);
        if (cursor) expect(res.body.total).toBeUndefined();
        walked.push(...ids(res));
        cursor = res.body.next_cursor ?? undefined;
        pages++;
      } while (cursor && pages < 10);

      expect(pages).toBe(3);
      expect(walked).toEqual(ids(all));
    });

    it('should filter by since and until', async () => {
      const before = await requestDeployment(t, { service: uniqueService('s1'), version: '1' });
      const beforeEvent = await eventOf(before);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const cut = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const after = await requestDeployment(t, { service: uniqueService('s2'), version: '1' });
      const afterEvent = await eventOf(after);
      expect(beforeEvent.at < cut && cut < afterEvent.at).toBe(true);

      const ids = (res: Response) => res.body.audit_events.map((e: { id: string }) => e.id);
      const since = await list({ since: cut, per_page: 100 });
      const until = await list({ until: cut, per_page: 100 });
      const window = await list({ since: beforeEvent.at, until: beforeEvent.at });
      // Another zone and no milliseconds mean the same instant.
      const offset = await list({
        since: new Date(Date.parse(cut) - 3_600_000).toISOString().replace('Z', '+00:00'),
        per_page: 100,
      });

      expect(since.status).toBe(200);
      expect(ids(since)).toContain(afterEvent.id);
      expect(ids(since)).not.toContain(beforeEvent.id);
      for (const e of since.body.audit_events) expect(e.at >= cut).toBe(true);
      expect(ids(until)).toContain(beforeEvent.id);
      expect(ids(until)).not.toContain(afterEvent.id);
      for (const e of until.body.audit_events) expect(e.at <= cut).toBe(true);
      expect(ids(window)).toEqual([beforeEvent.id]);
      expect(offset.status).toBe(200);
      expect(ids(offset)).toEqual(expect.arrayContaining([beforeEvent.id, afterEvent.id]));
      const future = await list({ since: new Date(Date.now() + 3_600_000).toISOString() });
      expect(future.body).toMatchObject({ total: 0, audit_events: [] });
      await waitForOperation(t, before.body.operation_id);
      await waitForOperation(t, after.body.operation_id);
    });

    it.each([
      ['since', 'yesterday'],
      ['since', '2026-13-45T00:00:00Z'],
      ['until', 'not-a-date'],
      ['until', '12345'],
      ['outcome', 'exploded'],
      ['page', '0'],
      ['page', 'two'],
      ['per_page', '101'],
      ['per_page', '-1'],
      ['actor_key_id', 'x'.repeat(37)],
    ])('should answer 400 validation_error for %s=%j', async (name, value) => {
      const res = await list({ [name]: value });

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('validation_error');
      expect(res.body.request_id).toBe(res.headers['x-request-id']);
      expect(res.body.audit_events).toBeUndefined();
    });
  });

  it('should never hold a secret: not a created key, not its hash, not a made-up key', async () => {
    const created = await t
      .http()
      .post('/api/v1/auth/keys')
      .set(bearer(ADMIN_KEY))
      .send({ name: 'secretive', permissions: ['deployments:read'], environments: ['*'] });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^fdk_/);
    const used = await t.http().get('/api/v1/audit-events').set(bearer(secret));
    expect(used.status).toBe(403);
    const madeUp = `fdk_${randomBytes(32).toString('base64url')}`;
    const refused = await t.http().post('/api/v1/deployments').set(bearer(madeUp)).send({});
    expect(refused.status).toBe(401);
    await eventOf(created);
    await eventOf(used);
    await eventOf(refused);

    const forbidden = [
      secret,
      sha256(secret),
      madeUp,
      sha256(madeUp),
      ADMIN_KEY,
      sha256(ADMIN_KEY),
    ];
    // Every page of the list, as the raw JSON text a client receives.
    const first = await list({ per_page: 100 });
    expect(first.status).toBe(200);
    const total: number = first.body.total;
    const texts = [first.text];
    for (let page = 2; (page - 1) * 100 < total; page++)
      texts.push((await list({ per_page: 100, page })).text);
    for (const text of texts) for (const value of forbidden) expect(text).not.toContain(value);
    expect(texts.join('')).toContain(created.body.id);

    const rows: Record<string, unknown>[] = await t.dataSource.query('SELECT * FROM audit_events');
    expect(rows.length).toBe(total);
    const stored = JSON.stringify(rows);
    expect(stored).toContain(created.body.id);
    for (const value of forbidden) expect(stored).not.toContain(value);
  });
});

describe('Audit source address (e2e)', () => {
  it('should ignore X-Forwarded-For by default and take it behind a proxy (FLIGHTDECK_TRUST_PROXY=true)', async () => {
    const direct = await startTestApp();
    const proxied = await startTestApp({ FLIGHTDECK_TRUST_PROXY: 'true' });
    try {
      const send = (app: TestApp) =>
        app.http().post('/api/v1/deployments').set('X-Forwarded-For', '203.0.113.9').send({});

      const spoofed = await auditEventOf(direct, await send(direct));
      const forwarded = await auditEventOf(proxied, await send(proxied));

      expect(spoofed.source_ip).toMatch(LOOPBACK);
      expect(forwarded.source_ip).toBe('203.0.113.9');
    } finally {
      await direct.close();
      await proxied.close();
    }
  });
});

describe('Audit log environment scope (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      FLIGHTDECK_CONFIG: writeDriversConfig(`default: { driver: simulated, fail_versions: "bad" }`),
    });
  });

  afterAll(async () => {
    await t.close();
  });

  const post = (path: string, body: object = {}, secret = ADMIN_KEY) =>
    t.http().post(path).set(bearer(secret)).send(body);
  const requestIds = (res: Response): string[] =>
    res.body.audit_events.map((e: { request_id: string }) => e.request_id);

  /** Requests about one environment's deployments: creates, a rollback, cancels, refusals. */
  async function activityIn(environment: string): Promise<Response[]> {
    const service = uniqueService(`scope-${environment}`);
    const v1 = await deployAndWait(t, { service, version: '1', environment });
    const v2 = await deployAndWait(t, { service, version: '2', environment });
    const rollback = await post(`/api/v1/deployments/${v2.id}/rollback`, { reason: 'scope' });
    expect(rollback.status).toBe(202);
    await waitForOperation(t, rollback.body.operation_id);
    const nothingBefore = await post(`/api/v1/deployments/${v1.id}/rollback`);
    expect(nothingBefore.status).toBe(409);
    const created = await post('/api/v1/deployments/async', { service, version: '3', environment });
    expect(created.status).toBe(202);
    const cancel = await post(`/api/v1/operations/${created.body.operation_id}/cancel`);
    expect([202, 409]).toContain(cancel.status); // a fast rollout may be over already
    await waitForOperation(t, created.body.operation_id);
    const cancelFinished = await post(`/api/v1/operations/${created.body.operation_id}/cancel`);
    expect(cancelFinished.status).toBe(409);
    const first = await post(
      '/api/v1/deployments',
      { service: uniqueService('replayed'), version: '1', environment },
      ADMIN_KEY,
    ).set('Idempotency-Key', `scope-${environment}`);
    const replay = await post(
      '/api/v1/deployments',
      { service: first.body.service, version: '1', environment },
      ADMIN_KEY,
    ).set('Idempotency-Key', `scope-${environment}`);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    await waitForOperation(t, first.body.operation_id);
    const responses = [rollback, nothingBefore, created, cancel, cancelFinished, first, replay];
    for (const res of responses) await auditEventOf(t, res);
    return responses;
  }

  it('should show a key limited to staging only the events about staging, and a "*" key all of them', async () => {
    const stagingAuditor = await createKey(t, {
      name: 'staging-auditor',
      permissions: ['audit:read'],
      environments: ['staging'],
    });
    const everywhere = await createKey(t, { name: 'auditor', permissions: ['audit:read'] });
    const stagingDeployer = await createKey(t, {
      name: 'staging-deployer',
      permissions: ALL_PERMISSIONS.filter((p) => p !== 'keys:manage'),
      environments: ['staging'],
    });

    const staging = await activityIn('staging');
    const production = await activityIn('production');
    // Without an environment: keys (created, revoked) and requests refused before it was known.
    const key = await post('/api/v1/auth/keys', {
      name: 'scoped-out',
      permissions: ['deployments:read'],
      environments: ['staging'],
    });
    const revoke = await t.http().delete(`/api/v1/auth/keys/${key.body.id}`).set(bearer(ADMIN_KEY));
    const unauthenticated = await post(
      '/api/v1/deployments',
      { service: uniqueService('anon'), version: '1', environment: 'staging' },
      'fdk_not-a-real-key-at-all',
    );
    // A staging key's attempt on production is about production.
    const outOfScope = await post(
      '/api/v1/deployments',
      { service: uniqueService('reach'), version: '1', environment: 'production' },
      stagingDeployer.secret,
    );
    expect([key.status, revoke.status, unauthenticated.status, outOfScope.status]).toEqual([
      201, 204, 401, 403,
    ]);
    const unscoped = [key, revoke, unauthenticated];
    for (const res of [...unscoped, outOfScope]) await auditEventOf(t, res);
    const ids = (responses: Response[]) => responses.map((r) => r.headers['x-request-id']);

    const seenByStaging = await listAuditEvents(t, { per_page: 100 }, stagingAuditor.secret);
    const seenByAll = await listAuditEvents(t, { per_page: 100 }, everywhere.secret);

    expect(seenByStaging.status).toBe(200);
    expect(requestIds(seenByStaging)).toEqual(expect.arrayContaining(ids(staging)));
    for (const id of ids([...production, ...unscoped, outOfScope]))
      expect(requestIds(seenByStaging)).not.toContain(id);
    for (const event of seenByStaging.body.audit_events) expect(event.environment).toBe('staging');
    expect(seenByStaging.body.total).toBe(seenByStaging.body.audit_events.length);
    expect(JSON.stringify(seenByStaging.body)).not.toContain(key.body.id);

    expect(seenByAll.body.total).toBeLessThanOrEqual(100);
    expect(requestIds(seenByAll)).toEqual(
      expect.arrayContaining(ids([...staging, ...production, ...unscoped, outOfScope])),
    );
    const environmentOf = (res: Response) =>
      seenByAll.body.audit_events.find(
        (e: { request_id: string }) => e.request_id === res.headers['x-request-id'],
      ).environment;
    expect(environmentOf(outOfScope)).toBe('production');
    for (const res of unscoped) expect(environmentOf(res)).toBeNull();

    // A filter cannot reach past the scope either.
    const byTarget = await listAuditEvents(
      t,
      { target_id: production[0].body.deployment_id },
      stagingAuditor.secret,
    );
    expect(byTarget.body).toMatchObject({ total: 0, audit_events: [] });
  });
});
