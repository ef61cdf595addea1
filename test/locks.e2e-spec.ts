import type { Response } from 'supertest';
import { Lock } from '../src/locks/lock.entity';
import { requestDeployment, uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import {
  backdateExpiry,
  inOneHour,
  lockRow,
  releaseLock,
  requestLock,
  takeLock,
} from './factories/locks';
import { auditEventOf, listAuditEvents } from './helpers/audit';
import { ADMIN_KEY, bearer, eventually, startTestApp, TestApp } from './helpers/test-app';

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function expectError(res: Response, status: number, error: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(res.body.request_id).toBe(res.headers['x-request-id']);
}

function expectFieldError(res: Response, field: string): void {
  expectError(res, 400, 'validation_error');
  expect(res.body.details.errors.map((e: { field: string }) => e.field)).toContain(field);
}

describe('Locks (e2e)', () => {
  let t: TestApp;
  /** May lock and deploy everywhere; not the admin key. */
  let holder: { id: string; secret: string; name: string };
  /** May deploy and read, nothing else. */
  let deployer: { id: string; secret: string };
  /** May lock, but only in staging. */
  let stagingOnly: { id: string; secret: string };

  beforeAll(async () => {
    t = await startTestApp();
    const name = `lock-holder-${uniqueService('k')}`;
    holder = {
      name,
      ...(await createKey(t, {
        name,
        permissions: ['locks:manage', 'deployments:read', 'deployments:create'],
      })),
    };
    deployer = await createKey(t, {
      permissions: ['deployments:read', 'deployments:create', 'deployments:rollback'],
    });
    stagingOnly = await createKey(t, {
      permissions: ['locks:manage', 'deployments:read'],
      environments: ['staging'],
    });
  });

  afterAll(async () => {
    await t.close();
  });

  const lockCount = () => t.dataSource.getRepository(Lock).count();
  const listLocks = (query: Record<string, string> = {}, secret = ADMIN_KEY) =>
    t.http().get('/api/v1/locks').query(query).set(bearer(secret));

  describe('POST /api/v1/locks', () => {
    it('should take a lock on a service and answer 201 with it, naming the key that took it', async () => {
      const environment = uniqueService('env');
      const expiresAt = inOneHour();

      const res = await requestLock(
        t,
        { environment, service: 'payments', reason: 'Migrating the ledger', expires_at: expiresAt },
        holder.secret,
      );

      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        environment,
        service: 'payments',
        reason: 'Migrating the ledger',
        created_by: { key_id: holder.id, name: holder.name },
        created_at: expect.stringMatching(RFC3339_UTC),
        expires_at: expiresAt,
      });
    });

    it('should take an environment-wide lock (service null) without an expiry', async () => {
      const environment = uniqueService('env');

      const res = await requestLock(t, { environment }, holder.secret);

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ environment, service: null, expires_at: null });
    });

    it('should give expires_at back in UTC when sent with an offset', async () => {
      const at = new Date(Date.now() + 7200_000);
      const local = new Date(at.getTime() + 3600_000).toISOString().slice(0, 19) + '+01:00';

      const res = await requestLock(
        t,
        { environment: uniqueService('env'), expires_at: local },
        holder.secret,
      );

      expect(res.status).toBe(201);
      expect(res.body.expires_at).toBe(
        new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString(),
      );
    });

    it('should refuse a second lock on the same service with 409 conflict carrying the lock in force', async () => {
      const environment = uniqueService('env');
      const first = await takeLock(t, { environment, service: 'payments' }, holder.secret);
      const before = await lockCount();

      const res = await requestLock(t, { environment, service: 'payments' });

      expectError(res, 409, 'conflict');
      expect(res.body.details.lock).toEqual(first);
      expect(res.body.message).toContain(first.reason);
      expect(await lockCount()).toBe(before);
    });

    it('should refuse a second environment-wide lock, but let service locks sit beside one', async () => {
      const environment = uniqueService('env');
      const wide = await takeLock(t, { environment }, holder.secret);

      const again = await requestLock(t, { environment });
      const onService = await requestLock(t, { environment, service: 'payments' });
      const otherService = await requestLock(t, { environment, service: 'checkout' });

      expectError(again, 409, 'conflict');
      expect(again.body.details.lock).toEqual(wide);
      expect(onService.status).toBe(201);
      expect(otherService.status).toBe(201);
    });

    it('should let exactly one of many simultaneous locks on a service win', async () => {
      const environment = uniqueService('env');

      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          requestLock(t, { environment, service: 'payments', reason: `attempt ${i}` }),
        ),
      );

      const won = answers.filter((r) => r.status === 201);
      expect(won).toHaveLength(1);
      for (const lost of answers.filter((r) => r.status !== 201)) {
        expectError(lost, 409, 'conflict');
        expect(lost.body.details.lock.id).toBe(won[0].body.id);
      }
      const locks = await listLocks({ environment });
      expect(locks.body.locks.map((l: { id: string }) => l.id)).toEqual([won[0].body.id]);
    });

    describe('bad input, answered with the field and writing nothing', () => {
      const environment = 'badinput';
      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['expires_at in the past', { expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
        ['expires_at not a date-time', { expires_at: 'tomorrow' }, 'expires_at'],
        ['expires_at a number', { expires_at: 1893456000 }, 'expires_at'],
        ['a reason of 501 characters', { reason: 'x'.repeat(501) }, 'reason'],
        ['an empty reason', { reason: '' }, 'reason'],
        ['a blank reason', { reason: '   ' }, 'reason'],
        ['a reason on two lines', { reason: 'one\ntwo' }, 'reason'],
        ['a reason that is a list', { reason: ['keep off'] }, 'reason'],
        ['no reason', { reason: undefined }, 'reason'],
        ['no environment', { environment: undefined }, 'environment'],
        ['an environment that is not a slug', { environment: 'Prod!' }, 'environment'],
        ['an environment that is a number', { environment: 42 }, 'environment'],
        ['a service that is not a slug', { service: '-payments' }, 'service'],
        ['a service that is an object', { service: { name: 'payments' } }, 'service'],
        ['an unknown field', { scope: 'all' }, 'scope'],
      ];

      it.each(cases)('should refuse %s', async (_, change, field) => {
        const before = await lockCount();
        const body = { environment, service: 'payments', reason: 'keep off', ...change };

        const res = await t.http().post('/api/v1/locks').set(bearer(ADMIN_KEY)).send(body);

        expectFieldError(res, field);
        expect(await lockCount()).toBe(before);
      });

      it('should accept a reason of exactly 500 characters', async () => {
        const res = await requestLock(t, {
          environment: uniqueService('env'),
          reason: 'x'.repeat(500),
        });
        expect(res.status).toBe(201);
        expect(res.body.reason).toHaveLength(500);
      });
    });

    it("should refuse an environment outside the key's scope with 403, writing nothing", async () => {
      const before = await lockCount();

      const res = await requestLock(t, { environment: 'production' }, stagingOnly.secret);

      expectError(res, 403, 'authorization_error');
      expect(await lockCount()).toBe(before);
    });

    it('should refuse a key without locks:manage with 403', async () => {
      const res = await requestLock(t, { environment: uniqueService('env') }, deployer.secret);
      expectError(res, 403, 'authorization_error');
    });

    it('should record the creation in the audit log, filed under its environment', async () => {
      const environment = uniqueService('env');
      const res = await requestLock(t, { environment, service: 'payments' }, holder.secret);

      const event = await auditEventOf(t, res);

      expect(event).toMatchObject({
        action: 'POST /api/v1/locks',
        actor: { key_id: holder.id, name: holder.name },
        target: { type: 'lock', id: res.body.id },
        outcome: 'succeeded',
        status: 201,
        environment,
      });
    });
  });

  describe('GET /api/v1/locks', () => {
    const environment = uniqueService('env');
    let onPayments: Record<string, any>;
    let wide: Record<string, any>;
    let onCheckout: Record<string, any>;

    beforeAll(async () => {
      onPayments = await takeLock(t, { environment, service: 'payments' });
      wide = await takeLock(t, { environment });
      onCheckout = await takeLock(t, { environment, service: 'checkout' });
    });

    it('should list the locks in force in an environment, newest first', async () => {
      const res = await listLocks({ environment });

      expect(res.status).toBe(200);
      expect(res.body).toEqual({ locks: [onCheckout, wide, onPayments] });
    });

    it('should keep, for a service, the locks on it and the environment-wide ones', async () => {
      const res = await listLocks({ environment, service: 'payments' });
      expect(res.body.locks).toEqual([wide, onPayments]);
    });

    it('should leave out released and expired locks', async () => {
      const env = uniqueService('env');
      const released = await takeLock(t, { environment: env, service: 'a' });
      const expired = await takeLock(t, { environment: env, service: 'b' });
      const kept = await takeLock(t, { environment: env, service: 'c' });
      expect((await releaseLock(t, released.id)).status).toBe(204);
      await backdateExpiry(t, expired.id);

      const res = await listLocks({ environment: env });

      expect(res.body.locks.map((l: { id: string }) => l.id)).toEqual([kept.id]);
    });

    it("should show a key only its environments' locks", async () => {
      const staging = await takeLock(t, { environment: 'staging', service: uniqueService() });

      const all = await listLocks({}, stagingOnly.secret);
      const production = await listLocks({ environment: environment }, stagingOnly.secret);

      expect(all.status).toBe(200);
      expect(all.body.locks.map((l: { id: string }) => l.id)).toContain(staging.id);
      expect(
        all.body.locks.every((l: { environment: string }) => l.environment === 'staging'),
      ).toBe(true);
      expect(production.body).toEqual({ locks: [] });
    });

    it('should refuse bad filters naming the field', async () => {
      expectFieldError(await listLocks({ environment: 'Prod!' }), 'environment');
      expectFieldError(await listLocks({ service: 'a b' }), 'service');
      expectFieldError(await listLocks({ page: '2' }), 'page');
    });
  });

  describe('DELETE /api/v1/locks/{id}', () => {
    it('should let its creator release it: 204, no longer listed, kept as ended, and others may deploy', async () => {
      const environment = uniqueService('env');
      const lock = await takeLock(t, { environment, service: 'payments' }, holder.secret);
      const service = 'payments';
      expect(
        (await requestDeployment(t, { service, version: '1', environment }, deployer.secret))
          .status,
      ).toBe(409);

      const res = await releaseLock(t, lock.id, holder.secret);

      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect((await listLocks({ environment })).body.locks).toEqual([]);
      const row = await lockRow(t, lock.id);
      expect(row).toMatchObject({ endReason: 'released', endedByKeyId: holder.id });
      expect(row.endedAt).toMatch(RFC3339_UTC);
      const deploy = await requestDeployment(
        t,
        { service, version: '1', environment },
        deployer.secret,
      );
      expect(deploy.status).toBe(201);
    });

    it('should refuse any other key without deployments:override with 403, and keep the lock', async () => {
      const environment = uniqueService('env');
      const lock = await takeLock(t, { environment }, holder.secret);
      const otherLocker = await createKey(t, { permissions: ['locks:manage', 'deployments:read'] });

      for (const secret of [deployer.secret, otherLocker.secret]) {
        const res = await releaseLock(t, lock.id, secret);
        expectError(res, 403, 'authorization_error');
        expect(res.body.message).toContain(holder.name);
      }
      expect((await lockRow(t, lock.id)).endedAt).toBeNull();
    });

    it('should let a key with deployments:override release it', async () => {
      const environment = uniqueService('env');
      const lock = await takeLock(t, { environment, service: 'payments' }, holder.secret);
      const overrider = await createKey(t, { permissions: ['deployments:override'] });

      const res = await releaseLock(t, lock.id, overrider.secret);

      expect(res.status).toBe(204);
      expect(await lockRow(t, lock.id)).toMatchObject({
        endReason: 'released',
        endedByKeyId: overrider.id,
      });
    });

    it('should answer 404 for an unknown id, one outside the key, and one no longer in force', async () => {
      const production = await takeLock(t, { environment: uniqueService('env') });
      const released = await takeLock(t, { environment: uniqueService('env') });
      const expired = await takeLock(t, { environment: uniqueService('env') });
      await releaseLock(t, released.id).expect(204);
      await backdateExpiry(t, expired.id);
      const scopedOverrider = await createKey(t, {
        permissions: ['deployments:override'],
        environments: ['staging'],
      });

      expectError(
        await releaseLock(t, '0193a6f3-5e6f-7a80-9b1c-000000000000'),
        404,
        'resource_not_found',
      );
      expectError(await releaseLock(t, 'not a lock'), 404, 'resource_not_found');
      expectError(
        await releaseLock(t, production.id, scopedOverrider.secret),
        404,
        'resource_not_found',
      );
      expectError(await releaseLock(t, released.id), 404, 'resource_not_found');
      const late = await releaseLock(t, expired.id);
      expectError(late, 404, 'resource_not_found');
      expect(late.body.message).toMatch(/expired/);
      expect((await lockRow(t, production.id)).endedAt).toBeNull();
    });

    it('should record the release in the audit log', async () => {
      const environment = uniqueService('env');
      const lock = await takeLock(t, { environment }, holder.secret);

      const res = await releaseLock(t, lock.id, holder.secret);

      expect(await auditEventOf(t, res)).toMatchObject({
        action: 'DELETE /api/v1/locks/:id',
        actor: { key_id: holder.id },
        target: { type: 'lock', id: lock.id },
        outcome: 'succeeded',
        status: 204,
        environment,
      });
    });
  });

  describe('expiry', () => {
    it('should no longer apply once expires_at has passed: a deploy passes and ends it as expired, with an audit event', async () => {
      const environment = uniqueService('env');
      const lock = await takeLock(
        t,
        { environment, service: 'payments', reason: 'short test' },
        holder.secret,
      );
      const expiresAt = await backdateExpiry(t, lock.id);

      const res = await requestDeployment(
        t,
        { service: 'payments', version: '1', environment },
        deployer.secret,
      );

      expect(res.status).toBe(201);
      expect(await lockRow(t, lock.id)).toMatchObject({
        endedAt: expiresAt,
        endReason: 'expired',
        endedByKeyId: null,
      });
      let expiry: Record<string, any> | undefined;
      await eventually(async () => {
        const page = await listAuditEvents(t, { action: 'lock.expired', target_id: lock.id });
        expiry = page.body.audit_events[0];
        return expiry !== undefined;
      }, 5000);
      expect(expiry).toMatchObject({
        action: 'lock.expired',
        actor: null,
        target: { type: 'lock', id: lock.id },
        outcome: 'succeeded',
        status: 0,
        environment,
        request_id: res.headers['x-request-id'],
        details: { service: 'payments', reason: 'short test', expired_at: expiresAt },
      });
    });

    it('should end an expired lock when a new lock takes its place, recording it once', async () => {
      const environment = uniqueService('env');
      const old = await takeLock(t, { environment }, holder.secret);
      const expiresAt = await backdateExpiry(t, old.id);

      const res = await requestLock(t, { environment, reason: 'my turn' });

      expect(res.status).toBe(201);
      expect(await lockRow(t, old.id)).toMatchObject({ endedAt: expiresAt, endReason: 'expired' });
      expect(
        (await listLocks({ environment })).body.locks.map((l: { id: string }) => l.id),
      ).toEqual([res.body.id]);
      await eventually(async () => {
        const page = await listAuditEvents(t, { action: 'lock.expired', target_id: old.id });
        return page.body.audit_events.length === 1;
      }, 5000);
    });

    it('should leave an expired lock as it is when a refused request meets it', async () => {
      const environment = uniqueService('env');
      const expired = await takeLock(t, { environment, service: 'payments' }, holder.secret);
      await backdateExpiry(t, expired.id);
      await takeLock(t, { environment }, holder.secret); // blocks the deploy below

      const res = await requestDeployment(
        t,
        { service: 'payments', version: '1', environment },
        deployer.secret,
      );

      expectError(res, 409, 'deployment_blocked');
      expect((await lockRow(t, expired.id)).endedAt).toBeNull();
      const page = await listAuditEvents(t, { action: 'lock.expired', target_id: expired.id });
      expect(page.body.audit_events).toEqual([]);
    });
  });
});
