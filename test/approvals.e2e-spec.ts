import { randomUUID } from 'node:crypto';
import { Deployment } from '../src/deployments/deployment.entity';
import { Operation } from '../src/operations/operation.entity';
import { auditEventOf } from './helpers/audit';
import { deploymentRow, requestDeployment, uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import { takeLock } from './factories/locks';
import { writeDriversConfig } from './helpers/drivers-config';
import {
  ADMIN_KEY,
  bearer,
  eventually,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

const DRIVERS = writeDriversConfig(`
default: { driver: simulated, duration_ms: 50 }
environments:
  production: { approvals: { required: 2, timeout_minutes: 60 } }
  canary: { approvals: { required: 1 } }
`);
const SETTINGS = {
  FLIGHTDECK_CONFIG: DRIVERS,
  FLIGHTDECK_APPROVAL_SWEEP_MS: '100',
  FLIGHTDECK_OPERATION_LEASE_MS: '500',
};
const ALL = [
  'deployments:read',
  'deployments:create',
  'deployments:rollback',
  'deployments:approve',
  'operations:read',
  'operations:cancel',
];

type Keys = Record<'requester' | 'alice' | 'bob' | 'carol' | 'outsider' | 'reader', string>;

async function makeKeys(t: TestApp): Promise<Keys> {
  const reviewer = () => createKey(t, { permissions: ['deployments:read', 'deployments:approve'] });
  return {
    requester: (await createKey(t, { permissions: ALL })).secret,
    alice: (await reviewer()).secret,
    bob: (await reviewer()).secret,
    carol: (await reviewer()).secret,
    outsider: (
      await createKey(t, {
        permissions: ['deployments:read', 'deployments:approve'],
        environments: ['staging'],
      })
    ).secret,
    reader: (await createKey(t, { permissions: ['deployments:read'] })).secret,
  };
}

const review = (t: TestApp, id: string, secret: string, body: Record<string, unknown>) =>
  t.http().post(`/api/v1/deployments/${id}/reviews`).set(bearer(secret)).send(body);

const getDeployment = async (t: TestApp, id: string) =>
  (await t.http().get(`/api/v1/deployments/${id}`).set(bearer(ADMIN_KEY))).body;

const getOperation = async (t: TestApp, id: string) =>
  (await t.http().get(`/api/v1/operations/${id}`).set(bearer(ADMIN_KEY))).body;

const reviewsOf = async (t: TestApp, id: string) =>
  (await t.http().get(`/api/v1/deployments/${id}/reviews`).set(bearer(ADMIN_KEY))).body.reviews;

/** Requests a rollout that will await approval; answers the created deployment. */
async function awaiting(
  t: TestApp,
  keys: Keys,
  environment = 'production',
  service = uniqueService('appr'),
): Promise<Record<string, any>> {
  const res = await requestDeployment(
    t,
    { service, version: '1.0.0', environment },
    keys.requester,
  );
  expect(res.status).toBe(201);
  expect(res.body.status).toBe('awaiting_approval');
  return res.body;
}

describe('approvals (e2e)', () => {
  let t: TestApp;
  let keys: Keys;

  beforeAll(async () => {
    t = await startTestApp(SETTINGS);
    keys = await makeKeys(t);
  });

  afterAll(() => t.close());

  describe('the approval gate', () => {
    it('should create a rollout awaiting approval whose operation waits, pending, and is not started by the sweep', async () => {
      const d = await awaiting(t, keys);
      expect(d.approvals).toEqual({ required: 2, received: 0 });
      // Old enough for the operations sweep to resume it if it were not held...
      await t.dataSource
        .getRepository(Operation)
        .update({ id: d.operation_id }, { createdAt: '2020-01-01T00:00:00.000Z' });
      // ...and a stray pending operation as old: once the sweep has picked it up, it has seen both.
      const stray = randomUUID();
      await t.dataSource.getRepository(Operation).insert(
        Object.assign(new Operation(), {
          id: stray,
          type: 'deployment.rollout',
          status: 'pending',
          progress: 0,
          targetType: 'deployment',
          targetId: randomUUID(),
          scope: 'production',
          message: 'stray',
          createdAt: '2020-01-01T00:00:00.000Z',
          updatedAt: '2020-01-01T00:00:00.000Z',
        }),
      );
      await eventually(async () => (await getOperation(t, stray)).status === 'failed');
      const op = await getOperation(t, d.operation_id);
      expect(op).toMatchObject({ status: 'pending', progress: 0, started_at: null });
      expect((await getDeployment(t, d.id)).status).toBe('awaiting_approval');
    });

    it('should say in preflight that the rollout needs approvals', async () => {
      const res = await t
        .http()
        .post('/api/v1/deployments/preflight')
        .set(bearer(keys.requester))
        .send({ service: uniqueService('appr'), version: '1.0.0', environment: 'production' });
      expect(res.status).toBe(200);
      expect(res.body.allowed).toBe(true);
      expect(res.body.needs_approval).toBe(true);
      expect(res.body.gates).toContainEqual(
        expect.objectContaining({
          type: 'approval',
          status: 'pending',
          reason: 'needs 2 approvals',
        }),
      );
    });

    it('should show approvals null where the environment asks for none', async () => {
      const res = await requestDeployment(
        t,
        { service: uniqueService('appr'), version: '1.0.0', environment: 'staging' },
        keys.requester,
      );
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('pending');
      expect(res.body.approvals).toBeNull();
    });

    it('should count a rollout awaiting approval as running: a second one of the pair is 409 conflict', async () => {
      const d = await awaiting(t, keys);
      const res = await requestDeployment(
        t,
        { service: d.service, version: '1.0.1', environment: 'production' },
        keys.requester,
      );
      expect(res.status).toBe(409);
      expect(res.body.error).toBe('conflict');
      expect(res.body.details.deployment_id).toBe(d.id);
    });

    it('should let a rollback skip approval', async () => {
      const service = uniqueService('appr');
      const older = deploymentRow({
        service,
        environment: 'production',
        version: '1.0.0',
        createdAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:01:00.000Z',
      });
      const current = deploymentRow({
        service,
        environment: 'production',
        version: '2.0.0',
        createdAt: '2026-01-02T00:00:00.000Z',
        finishedAt: '2026-01-02T00:01:00.000Z',
      });
      await t.dataSource.getRepository(Deployment).insert([older, current]);
      const res = await t
        .http()
        .post(`/api/v1/deployments/${current.id}/rollback`)
        .set(bearer(keys.requester))
        .send({});
      expect(res.status).toBe(202);
      expect((await waitForOperation(t, res.body.operation_id)).status).toBe('succeeded');
      const rollback = await getDeployment(t, res.body.rollback_id);
      expect(rollback).toMatchObject({ status: 'successful', approvals: null });
    });
  });

  describe('POST /deployments/{id}/reviews', () => {
    it('should start the rollout with the last approval needed', async () => {
      const d = await awaiting(t, keys);
      const first = await review(t, d.id, keys.alice, { decision: 'approve', comment: 'ok' });
      expect(first.status).toBe(201);
      expect(first.body.review).toMatchObject({
        decision: 'approve',
        comment: 'ok',
        reviewer: { key_id: expect.any(String), name: expect.any(String) },
        at: expect.any(String),
      });
      expect(first.body.deployment).toMatchObject({
        status: 'awaiting_approval',
        approvals: { required: 2, received: 1 },
      });
      expect((await getOperation(t, d.operation_id)).status).toBe('pending');

      const last = await review(t, d.id, keys.bob, { decision: 'approve' });
      expect(last.status).toBe(201);
      expect(last.body.review.comment).toBeNull();
      expect(last.body.deployment.approvals).toEqual({ required: 2, received: 2 });
      expect(['pending', 'in_progress', 'successful']).toContain(last.body.deployment.status);
      expect((await waitForOperation(t, d.operation_id)).status).toBe('succeeded');
      expect((await getDeployment(t, d.id)).status).toBe('successful');
      const reviews = await reviewsOf(t, d.id);
      expect(reviews.map((r: { decision: string }) => r.decision)).toEqual(['approve', 'approve']);
    });

    it('should end the deployment rejected with one rejection, its operation cancelled', async () => {
      const d = await awaiting(t, keys);
      const res = await review(t, d.id, keys.alice, {
        decision: 'reject',
        comment: 'Not during the sale',
      });
      expect(res.status).toBe(201);
      expect(res.body.deployment.status).toBe('rejected');
      expect(res.body.deployment.finished_at).toEqual(expect.any(String));
      expect((await getOperation(t, d.operation_id)).status).toBe('cancelled');
      const events = await t
        .http()
        .get(`/api/v1/deployments/${d.id}/events`)
        .set(bearer(ADMIN_KEY));
      expect(events.body.events.map((e: { status: string }) => e.status)).toEqual([
        'awaiting_approval',
        'rejected',
      ]);
      expect(events.body.events[1].message).toContain('Not during the sale');
      // The pair is free again.
      await awaiting(t, keys, 'production', d.service);
    });

    it('should refuse the last approval while a lock blocks, recording nothing, and start once it is released', async () => {
      const d = await awaiting(t, keys);
      expect((await review(t, d.id, keys.alice, { decision: 'approve' })).status).toBe(201);
      const lock = await takeLock(t, {
        environment: 'production',
        service: d.service,
        reason: 'Migrating the ledger',
      });
      const blocked = await review(t, d.id, keys.bob, { decision: 'approve' });
      expect(blocked.status).toBe(409);
      expect(blocked.body.error).toBe('deployment_blocked');
      expect(blocked.body.details.gates).toEqual([
        expect.objectContaining({ type: 'lock', lock_id: lock.id }),
      ]);
      expect(await reviewsOf(t, d.id)).toHaveLength(1);
      expect(await getDeployment(t, d.id)).toMatchObject({
        status: 'awaiting_approval',
        approvals: { required: 2, received: 1 },
      });
      expect((await getOperation(t, d.operation_id)).status).toBe('pending');

      await t.http().delete(`/api/v1/locks/${lock.id}`).set(bearer(ADMIN_KEY)).expect(204);
      expect((await review(t, d.id, keys.bob, { decision: 'approve' })).status).toBe(201);
      expect((await waitForOperation(t, d.operation_id)).status).toBe('succeeded');
    });

    it('should refuse the last approval during a freeze of the environment, recording nothing', async () => {
      const d = await awaiting(t, keys, 'canary');
      const freeze = await t
        .http()
        .post('/api/v1/freezes')
        .set(bearer(ADMIN_KEY))
        .send({
          name: 'Sale',
          environments: ['canary'],
          services: [d.service],
          starts_at: new Date(Date.now() - 60_000).toISOString(),
          ends_at: new Date(Date.now() + 3600_000).toISOString(),
        });
      expect(freeze.status).toBe(201);
      const blocked = await review(t, d.id, keys.alice, { decision: 'approve' });
      expect(blocked.status).toBe(409);
      expect(blocked.body.error).toBe('deployment_blocked');
      expect(blocked.body.details.gates).toEqual([
        expect.objectContaining({ type: 'freeze', freeze_id: freeze.body.id }),
      ]);
      expect(await reviewsOf(t, d.id)).toEqual([]);
      expect((await getDeployment(t, d.id)).status).toBe('awaiting_approval');
      expect((await getOperation(t, d.operation_id)).status).toBe('pending');
    });

    it('should refuse a review by the key that requested the deployment with 403', async () => {
      const d = await awaiting(t, keys);
      const res = await review(t, d.id, keys.requester, { decision: 'approve' });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('authorization_error');
      expect(await reviewsOf(t, d.id)).toEqual([]);
    });

    it('should refuse a second review by one key with 409 conflict', async () => {
      const d = await awaiting(t, keys);
      expect((await review(t, d.id, keys.alice, { decision: 'approve' })).status).toBe(201);
      const again = await review(t, d.id, keys.alice, { decision: 'approve' });
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('conflict');
      expect((await getDeployment(t, d.id)).approvals).toEqual({ required: 2, received: 1 });
    });

    it('should refuse a review of a deployment not awaiting approval with 409 conflict', async () => {
      const d = await awaiting(t, keys);
      await review(t, d.id, keys.alice, { decision: 'reject', comment: 'No' }).expect(201);
      const res = await review(t, d.id, keys.bob, { decision: 'approve' });
      expect(res.status).toBe(409);
      expect(res.body.error).toBe('conflict');
      expect(res.body.details).toEqual({ status: 'rejected' });
    });

    it('should answer 404 for a deployment outside the key scope', async () => {
      const d = await awaiting(t, keys);
      const res = await review(t, d.id, keys.outsider, { decision: 'approve' });
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('resource_not_found');
    });

    it('should refuse a key without deployments:approve with 403', async () => {
      const d = await awaiting(t, keys);
      const res = await review(t, d.id, keys.reader, { decision: 'approve' });
      expect(res.status).toBe(403);
    });

    it.each([
      ['an unknown decision', { decision: 'maybe' }, 'decision'],
      ['no decision', {}, 'decision'],
      ['a rejection without a comment', { decision: 'reject' }, 'comment'],
      ['a rejection with a blank comment', { decision: 'reject', comment: '   ' }, 'comment'],
    ])(
      'should refuse %s with 400 naming the field, recording nothing',
      async (_what, body, field) => {
        const d = await awaiting(t, keys);
        const res = await review(t, d.id, keys.alice, body);
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('validation_error');
        expect(res.body.details.errors).toContainEqual(expect.objectContaining({ field }));
        expect(await reviewsOf(t, d.id)).toEqual([]);
        expect((await getDeployment(t, d.id)).status).toBe('awaiting_approval');
      },
    );

    it('should record every review as an audit event', async () => {
      const d = await awaiting(t, keys);
      const res = await review(t, d.id, keys.alice, { decision: 'reject', comment: 'Too risky' });
      expect(res.status).toBe(201);
      const event = await auditEventOf(t, res);
      expect(event).toMatchObject({
        action: 'POST /api/v1/deployments/:id/reviews',
        target: { type: 'deployment', id: d.id },
        status: 201,
        environment: 'production',
        details: { decision: 'reject' },
      });
    });
  });

  describe('waiting', () => {
    it('should cancel a deployment awaiting approval through its operation', async () => {
      const d = await awaiting(t, keys);
      const res = await t
        .http()
        .post(`/api/v1/operations/${d.operation_id}/cancel`)
        .set(bearer(keys.requester));
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('cancelled');
      expect(await getDeployment(t, d.id)).toMatchObject({ status: 'cancelled' });
      const late = await review(t, d.id, keys.alice, { decision: 'approve' });
      expect(late.status).toBe(409);
    });

    it('should end rejected a deployment whose wait timed out, its operation cancelled', async () => {
      const d = await awaiting(t, keys);
      await review(t, d.id, keys.alice, { decision: 'approve' }).expect(201);
      await t.dataSource
        .getRepository(Deployment)
        .update({ id: d.id }, { approvalExpiresAt: '2020-01-01T00:00:00.000Z' });
      await eventually(async () => (await getDeployment(t, d.id)).status === 'rejected');
      expect((await getOperation(t, d.operation_id)).status).toBe('cancelled');
      const events = await t
        .http()
        .get(`/api/v1/deployments/${d.id}/events`)
        .set(bearer(ADMIN_KEY));
      expect(events.body.events.at(-1).message).toMatch(/^Timed out waiting for approvals: 1 of 2/);
      expect(
        events.body.events.filter((e: { status: string }) => e.status === 'rejected'),
      ).toHaveLength(1);
    });
  });

  describe('GET /approvals', () => {
    it('should list what the key may review: in its scope, not its own, oldest first', async () => {
      const first = await awaiting(t, keys, 'canary');
      const second = await awaiting(t, keys, 'canary');
      const own = await awaiting(t, keys, 'canary', uniqueService('own'));
      // Requested by another key: the requester may review it.
      const hers = await requestDeployment(
        t,
        { service: uniqueService('appr'), version: '1.0.0', environment: 'canary' },
        ADMIN_KEY,
      );
      expect(hers.status).toBe(201);
      const list = await t.http().get('/api/v1/approvals').set(bearer(keys.requester));
      expect(list.status).toBe(200);
      const ids = list.body.deployments.map((x: { id: string }) => x.id);
      expect(ids).toContain(hers.body.id);
      expect(ids).not.toContain(first.id);
      expect(ids).not.toContain(own.id);

      const forAlice = await t.http().get('/api/v1/approvals').set(bearer(keys.alice));
      const aliceIds = forAlice.body.deployments.map((x: { id: string }) => x.id);
      expect(aliceIds.indexOf(first.id)).toBeLessThan(aliceIds.indexOf(second.id));
      expect(aliceIds.indexOf(first.id)).toBeGreaterThanOrEqual(0);
      expect(
        forAlice.body.deployments.every(
          (x: { status: string }) => x.status === 'awaiting_approval',
        ),
      ).toBe(true);

      const outsider = await t.http().get('/api/v1/approvals').set(bearer(keys.outsider));
      expect(outsider.status).toBe(200);
      expect(outsider.body.deployments).toEqual([]);

      const reader = await t.http().get('/api/v1/approvals').set(bearer(keys.reader));
      expect(reader.status).toBe(403);
    });
  });

  describe('GET /metrics', () => {
    it('should count reviews by decision and how long deployments waited', async () => {
      const approved = await awaiting(t, keys, 'canary');
      await review(t, approved.id, keys.alice, { decision: 'approve' }).expect(201);
      const rejected = await awaiting(t, keys, 'canary');
      await review(t, rejected.id, keys.bob, { decision: 'reject', comment: 'No' }).expect(201);
      const res = await t.http().get('/metrics');
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/^flightdeck_deployment_reviews_total\{decision="approve"\} [1-9]/m);
      expect(res.text).toMatch(/^flightdeck_deployment_reviews_total\{decision="reject"\} [1-9]/m);
      expect(res.text).toMatch(
        /^flightdeck_deployment_approval_wait_seconds_count\{outcome="approved"\} [1-9]/m,
      );
      expect(res.text).toMatch(
        /^flightdeck_deployment_approval_wait_seconds_count\{outcome="rejected"\} [1-9]/m,
      );
    });
  });
});

describe('approvals across two replicas (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  let keys: Keys;

  beforeAll(async () => {
    a = await startTestApp(SETTINGS);
    b = await startTestApp(SETTINGS, a.database);
    keys = await makeKeys(a);
  });

  afterAll(async () => {
    await b.close({ keepDatabase: true });
    await a.close();
  });

  it('should start the rollout once when two replicas race for the last approval', async () => {
    for (let round = 0; round < 5; round++) {
      const d = await awaiting(a, keys);
      await review(a, d.id, keys.alice, { decision: 'approve' }).expect(201);
      const answers = await Promise.all([
        review(a, d.id, keys.bob, { decision: 'approve' }),
        review(b, d.id, keys.carol, { decision: 'approve' }),
      ]);
      expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
      expect((await waitForOperation(a, d.operation_id)).status).toBe('succeeded');
      const events = await a
        .http()
        .get(`/api/v1/deployments/${d.id}/events`)
        .set(bearer(ADMIN_KEY));
      expect(events.body.events.map((e: { status: string }) => e.status)).toEqual([
        'awaiting_approval',
        'pending',
        'in_progress',
        'successful',
      ]);
      expect(await reviewsOf(a, d.id)).toHaveLength(2);
      expect((await getDeployment(a, d.id)).approvals).toEqual({ required: 2, received: 2 });
    }
  });
});
