import type { Response } from 'supertest';
import { Deployment } from '../src/deployments/deployment.entity';
import { Operation } from '../src/operations/operation.entity';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import { backdateExpiry, lockRow, releaseLock, takeLock } from './factories/locks';
import { auditEventOf } from './helpers/audit';
import {
  ADMIN_KEY,
  bearer,
  sleep,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

function expectError(res: Response, status: number, error: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(res.body.request_id).toBe(res.headers['x-request-id']);
}

function expectFieldError(res: Response, field: string): void {
  expectError(res, 400, 'validation_error');
  expect(res.body.details.errors.map((e: { field: string }) => e.field)).toContain(field);
}

const DEPLOYER_PERMISSIONS = ['deployments:read', 'deployments:create', 'deployments:rollback'];

describe('Gates on rollouts and rollbacks (e2e)', () => {
  let t: TestApp;
  /** Takes the locks: may lock and deploy. */
  let holder: { id: string; secret: string; name: string };
  /** Deploys and rolls back; may not override. */
  let deployer: { id: string; secret: string };
  /** Deploys, rolls back and overrides. */
  let overrider: { id: string; secret: string };

  beforeAll(async () => {
    t = await startTestApp();
    const name = `gate-holder-${uniqueService('k')}`;
    holder = {
      name,
      ...(await createKey(t, { name, permissions: ['locks:manage', ...DEPLOYER_PERMISSIONS] })),
    };
    deployer = await createKey(t, { permissions: DEPLOYER_PERMISSIONS });
    overrider = await createKey(t, {
      permissions: [...DEPLOYER_PERMISSIONS, 'deployments:override'],
    });
  });

  afterAll(async () => {
    await t.close();
  });

  /** What a request that got through would have written. */
  const written = async () => ({
    deployments: await t.dataSource.getRepository(Deployment).count(),
    operations: await t.dataSource.getRepository(Operation).count(),
  });
  const deploy = (body: Record<string, unknown>, secret: string, path = '/api/v1/deployments') =>
    t.http().post(path).set(bearer(secret)).send(body);
  const rollback = (id: string, body: Record<string, unknown>, secret: string) =>
    t.http().post(`/api/v1/deployments/${id}/rollback`).set(bearer(secret)).send(body);
  const preflight = (body: Record<string, unknown>, secret = ADMIN_KEY) =>
    t.http().post('/api/v1/deployments/preflight').set(bearer(secret)).send(body);
  const lockGate = (lock: Record<string, any>) => ({
    type: 'lock',
    reason: expect.stringContaining(`"${lock.reason}"`),
    lock_id: lock.id,
    created_by: lock.created_by,
    expires_at: lock.expires_at,
  });

  describe('a lock', () => {
    it("should block another key's rollout with 409 deployment_blocked listing the lock, creating nothing", async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      const lock = await takeLock(t, { environment, service, reason: 'Load test' }, holder.secret);
      const before = await written();

      const sync = await deploy({ service, version: '2', environment }, deployer.secret);
      const async = await deploy(
        { service, version: '2', environment },
        deployer.secret,
        '/api/v1/deployments/async',
      );

      for (const res of [sync, async]) {
        expectError(res, 409, 'deployment_blocked');
        expect(res.body.details).toEqual({ gates: [lockGate(lock)] });
        expect(res.body.details.gates[0].created_by).toEqual({
          key_id: holder.id,
          name: holder.name,
        });
        expect(res.body.message).toContain('Load test');
      }
      expect(await written()).toEqual(before);
      expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(0);
    });

    it("should block another key's rollback, leaving the deployment as it was", async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      await deployAndWait(t, { service, version: '1', environment });
      const v2 = await deployAndWait(t, { service, version: '2', environment });
      const lock = await takeLock(t, { environment, service }, holder.secret);
      const before = await written();

      const res = await rollback(v2.id, { reason: 'errors' }, deployer.secret);

      expectError(res, 409, 'deployment_blocked');
      expect(res.body.details.gates).toEqual([lockGate(lock)]);
      expect(await written()).toEqual(before);
      const after = await t.http().get(`/api/v1/deployments/${v2.id}`).set(bearer(ADMIN_KEY));
      expect(after.body.status).toBe('successful');
    });

    it('should let the key that took it roll out and roll back', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      await takeLock(t, { environment, service }, holder.secret);

      const first = await deploy({ service, version: '1', environment }, holder.secret);
      expect(first.status).toBe(201);
      await waitForOperation(t, first.body.operation_id);
      const second = await deploy({ service, version: '2', environment }, holder.secret);
      expect(second.status).toBe(201);
      await waitForOperation(t, second.body.operation_id);
      const back = await rollback(second.body.id, {}, holder.secret);

      expect(back.status).toBe(202);
      await waitForOperation(t, back.body.operation_id);
    });

    it('should not stop other services, nor the same service elsewhere', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      await takeLock(t, { environment, service }, holder.secret);

      const other = await deploy(
        { service: uniqueService(), version: '1', environment },
        deployer.secret,
      );
      const elsewhere = await deploy(
        { service, version: '1', environment: uniqueService('env') },
        deployer.secret,
      );

      expect(other.status).toBe(201);
      expect(elsewhere.status).toBe(201);
    });

    it('should block every service of the environment when environment-wide, listing every blocking lock', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      const onService = await takeLock(t, { environment, service }, holder.secret);
      const wide = await takeLock(t, { environment, reason: 'Freeze the lab' });

      const locked = await deploy({ service, version: '1', environment }, deployer.secret);
      const another = await deploy(
        { service: uniqueService(), version: '1', environment },
        deployer.secret,
      );
      const byHolder = await deploy({ service, version: '1', environment }, holder.secret);

      expectError(locked, 409, 'deployment_blocked');
      expect(locked.body.details.gates).toEqual([lockGate(wide), lockGate(onService)]);
      expectError(another, 409, 'deployment_blocked');
      expect(another.body.details.gates).toEqual([lockGate(wide)]);
      // The holder of one lock is still stopped by another key's.
      expectError(byHolder, 409, 'deployment_blocked');
      expect(byHolder.body.details.gates).toEqual([lockGate(wide)]);
    });

    it('should let a request through once the lock is released, even retried with the same Idempotency-Key', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      const lock = await takeLock(t, { environment, service }, holder.secret);
      const send = () =>
        t
          .http()
          .post('/api/v1/deployments')
          .set(bearer(deployer.secret))
          .set('Idempotency-Key', `gate-${service}`)
          .send({ service, version: '1', environment });

      expectError(await send(), 409, 'deployment_blocked');
      await releaseLock(t, lock.id, holder.secret).expect(204);
      const retried = await send();

      expect(retried.status).toBe(201);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(1);
    });

    it('should record a blocked request in the audit log as failed, with its error code', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      await takeLock(t, { environment, service }, holder.secret);

      const res = await deploy({ service, version: '1', environment }, deployer.secret);

      expect(await auditEventOf(t, res)).toMatchObject({
        action: 'POST /api/v1/deployments',
        actor: { key_id: deployer.id },
        outcome: 'failed',
        status: 409,
        error_code: 'deployment_blocked',
        environment,
        details: null,
      });
    });
  });

  describe('override', () => {
    it('should pass a lock, keep override_reason on the deployment and name the reason and the gate in the audit log', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      const lock = await takeLock(t, { environment, service }, holder.secret);
      const reason = 'Hotfix for INC-2041';

      const res = await deploy(
        { service, version: '1', environment, override: { reason } },
        overrider.secret,
      );

      expect(res.status).toBe(201);
      expect(res.body.override_reason).toBe(reason);
      const stored = await t
        .http()
        .get(`/api/v1/deployments/${res.body.id}`)
        .set(bearer(ADMIN_KEY));
      expect(stored.body.override_reason).toBe(reason);
      expect(await auditEventOf(t, res)).toMatchObject({
        outcome: 'succeeded',
        target: { type: 'deployment', id: res.body.id },
        details: {
          override_reason: reason,
          overridden_gates: [{ status: 'blocked', ...lockGate(lock) }],
        },
      });
      await waitForOperation(t, res.body.operation_id);
    });

    it('should pass a lock for a rollback too, keeping the reason on the rollback deployment', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      await deployAndWait(t, { service, version: '1', environment });
      const v2 = await deployAndWait(t, { service, version: '2', environment });
      await takeLock(t, { environment }, holder.secret);

      const res = await rollback(
        v2.id,
        { override: { reason: 'Undo the outage' } },
        overrider.secret,
      );

      expect(res.status).toBe(202);
      const restored = await t
        .http()
        .get(`/api/v1/deployments/${res.body.rollback_id}`)
        .set(bearer(ADMIN_KEY));
      expect(restored.body).toMatchObject({ version: '1', override_reason: 'Undo the outage' });
      await waitForOperation(t, res.body.operation_id);
    });

    it('should keep override_reason null without an override', async () => {
      const res = await requestDeployment(t, { service: uniqueService(), version: '1' });
      expect(res.status).toBe(201);
      expect(res.body.override_reason).toBeNull();
    });

    it('should refuse an override from a key without deployments:override with 403, even when nothing blocks, creating nothing', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      await deployAndWait(t, { service, version: '1', environment });
      const v2 = await deployAndWait(t, { service, version: '2', environment });
      const before = await written();
      const override = { reason: 'I know what I am doing' };

      const create = await deploy(
        { service, version: '3', environment, override },
        deployer.secret,
      );
      const createAsync = await deploy(
        { service, version: '3', environment, override },
        deployer.secret,
        '/api/v1/deployments/async',
      );
      const back = await rollback(v2.id, { override }, deployer.secret);

      for (const res of [create, createAsync, back]) {
        expectError(res, 403, 'authorization_error');
        expect(res.body.message).toContain('deployments:override');
      }
      expect(await written()).toEqual(before);
      expect(await auditEventOf(t, create)).toMatchObject({
        outcome: 'denied',
        details: { override_reason: override.reason },
      });
    });

    describe('bad override, answered with the field and writing nothing', () => {
      const cases: Array<[string, unknown, string]> = [
        ['a reason of 501 characters', { reason: 'x'.repeat(501) }, 'override.reason'],
        ['an empty reason', { reason: '' }, 'override.reason'],
        ['a blank reason', { reason: ' \u00a0 ' }, 'override.reason'],
        ['no reason', {}, 'override.reason'],
        ['a reason that is a number', { reason: 7 }, 'override.reason'],
        ['a reason on two lines', { reason: 'a\nb' }, 'override.reason'],
        ['an unknown field inside', { reason: 'ok', gates: ['lock'] }, 'override.gates'],
        ['a string instead of an object', 'because', 'override'],
      ];

      it.each(cases)('should refuse %s', async (_, override, field) => {
        const before = await written();
        const body = { service: uniqueService(), version: '1', environment: 'staging', override };

        for (const path of [
          '/api/v1/deployments',
          '/api/v1/deployments/async',
          '/api/v1/deployments/preflight',
        ])
          expectFieldError(await deploy(body, ADMIN_KEY, path), field);

        expect(await written()).toEqual(before);
      });
    });
  });

  describe('POST /api/v1/deployments/preflight', () => {
    /** The freeze, promotion and approval gates' verdicts where none has anything to say. */
    const laterGatesPass = (environment: string) => [
      { type: 'freeze', status: 'passed', reason: 'No freeze window applies' },
      {
        type: 'promotion',
        status: 'passed',
        reason: `${environment} requires no earlier environment`,
      },
      { type: 'approval', status: 'passed', reason: `${environment} needs no approvals` },
    ];

    it('should answer every gate checked and allowed, when nothing blocks', async () => {
      const service = uniqueService();
      const environment = uniqueService('env');

      const res = await preflight({ service, version: '1', environment }, deployer.secret);

      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        allowed: true,
        needs_approval: false,
        gates: [
          { type: 'lock', status: 'passed', reason: `No lock on ${service} in ${environment}` },
          ...laterGatesPass(environment),
        ],
      });
    });

    it('should answer a blocking lock without writing anything', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      const lock = await takeLock(t, { environment, service }, holder.secret);
      const before = await written();

      const res = await preflight({ service, version: '1', environment }, deployer.secret);

      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        allowed: false,
        needs_approval: false,
        gates: [{ status: 'blocked', ...lockGate(lock) }, ...laterGatesPass(environment)],
      });
      expect(await written()).toEqual(before);
    });

    it('should answer allowed for the holder, saying it holds the lock', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      await takeLock(t, { environment, service }, holder.secret);

      const res = await preflight({ service, version: '1', environment }, holder.secret);

      expect(res.body.allowed).toBe(true);
      expect(res.body.gates).toEqual([
        { type: 'lock', status: 'passed', reason: expect.stringContaining('locked by this key') },
        ...laterGatesPass(environment),
      ]);
    });

    it('should answer allowed with an override, still showing the gate it passes', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      const lock = await takeLock(t, { environment, service }, holder.secret);

      const res = await preflight(
        { service, version: '1', environment, override: { reason: 'hotfix' } },
        overrider.secret,
      );

      expect(res.body).toEqual({
        allowed: true,
        needs_approval: false,
        gates: [{ status: 'blocked', ...lockGate(lock) }, ...laterGatesPass(environment)],
      });
    });

    it('should neither apply nor end an expired lock', async () => {
      const environment = uniqueService('env');
      const service = uniqueService();
      const lock = await takeLock(t, { environment, service }, holder.secret);
      await backdateExpiry(t, lock.id);

      const res = await preflight({ service, version: '1', environment }, deployer.secret);

      expect(res.body.allowed).toBe(true);
      expect((await lockRow(t, lock.id)).endedAt).toBeNull();
    });

    it('should refuse an override without the permission, an environment out of scope, and a key without deployments:create', async () => {
      const scoped = await createKey(t, {
        permissions: DEPLOYER_PERMISSIONS,
        environments: ['staging'],
      });
      const reader = await createKey(t, { permissions: ['deployments:read'] });
      const body = { service: uniqueService(), version: '1', environment: 'production' };

      expectError(
        await preflight({ ...body, override: { reason: 'x' } }, deployer.secret),
        403,
        'authorization_error',
      );
      expectError(await preflight(body, scoped.secret), 403, 'authorization_error');
      expectError(await preflight(body, reader.secret), 403, 'authorization_error');
    });

    it('should refuse bad input naming the field', async () => {
      expectFieldError(await preflight({ version: '1', environment: 'staging' }), 'service');
      expectFieldError(
        await preflight({ service: 'Bad Slug', version: '1', environment: 'staging' }),
        'service',
      );
      expectFieldError(
        await preflight({ service: 'a', version: '1', environment: 'staging', description: 'x' }),
        'description',
      );
    });
  });
});

describe('Gates across two replicas (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  let holder: { id: string; secret: string };
  let deployer: { id: string; secret: string };

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({}, a.database);
    holder = await createKey(a, { permissions: ['locks:manage', ...DEPLOYER_PERMISSIONS] });
    deployer = await createKey(a, { permissions: DEPLOYER_PERMISSIONS });
  });

  afterAll(async () => {
    await b.close({ keepDatabase: true });
    await a.close();
  });

  const deployThrough = (t: TestApp, body: Record<string, unknown>, secret: string) =>
    t.http().post('/api/v1/deployments').set(bearer(secret)).send(body);

  it('should block a deploy through B at once when the lock was taken through A, and free it at once on release', async () => {
    const environment = uniqueService('env');
    const service = uniqueService();
    const body = { service, version: '1', environment };

    const lock = await takeLock(a, { environment, service }, holder.secret);
    const blocked = await deployThrough(b, body, deployer.secret);
    await releaseLock(b, lock.id, holder.secret).expect(204);
    const freed = await deployThrough(a, body, deployer.secret);

    expect(blocked.status).toBe(409);
    expect(blocked.body.error).toBe('deployment_blocked');
    expect(blocked.body.details.gates[0].lock_id).toBe(lock.id);
    expect(freed.status).toBe(201);
  });

  it('should never accept a deploy decided after a racing lock: every accepted one was created no later than the lock', async () => {
    const environment = uniqueService('env');
    // Deploys of distinct services keep coming through both replicas, from several clients at
    // once, before, while and after an environment-wide lock is taken through A.
    const answers: Response[] = [];
    let lockAnswered = false;
    const client = async (t: TestApp) => {
      for (let afterLock = 0; afterLock < 2;) {
        if (lockAnswered) afterLock++;
        const body = { service: uniqueService(), version: '1', environment };
        answers.push(await deployThrough(t, body, deployer.secret));
      }
    };
    const clients = [a, b, a, b, a, b, a, b, a, b].map(client);
    while (answers.length < 6) await sleep(5);
    const lock = await takeLock(a, { environment }, holder.secret);
    lockAnswered = true;
    await Promise.all(clients);

    const accepted = answers.filter((r) => r.status === 201);
    const blocked = answers.filter((r) => r.status === 409);
    expect(accepted.length + blocked.length).toBe(answers.length);
    expect(accepted.length).toBeGreaterThanOrEqual(6);
    expect(blocked.length).toBeGreaterThanOrEqual(6); // at least those sent once the lock answered
    for (const res of blocked) expect(res.body.details.gates[0].lock_id).toBe(lock.id);
    // A decision came before the lock, and its deployment with it, or it saw the lock.
    for (const res of accepted) expect(res.body.created_at <= lock.created_at).toBe(true);
    const rows = await a.dataSource.getRepository(Deployment).findBy({ environment });
    expect(rows.map((d) => d.id).sort()).toEqual(accepted.map((r) => r.body.id).sort());
  });
});
