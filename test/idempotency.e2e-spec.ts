import { randomUUID } from 'node:crypto';
import { Deployment } from '../src/deployments/deployment.entity';
import { IdempotencyRecord } from '../src/idempotency/idempotency-record.entity';
import { uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import { ADMIN_KEY, bearer, startTestApp, TestApp, waitForOperation } from './helpers/test-app';

describe('Idempotency-Key (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const deploy = (key: string, body: object, secret = ADMIN_KEY) =>
    t.http().post('/api/v1/deployments').set(bearer(secret)).set('Idempotency-Key', key).send(body);

  it('should replay the first response to a retry, with Idempotent-Replayed, and deploy once', async () => {
    const key = randomUUID();
    const body = { service: uniqueService('idem'), version: '1.0.0', environment: 'staging' };
    const first = await deploy(key, body);
    const retry = await deploy(key, {
      environment: 'staging',
      version: '1.0.0',
      service: body.service,
    });

    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.body).toEqual(first.body);
    expect(await t.dataSource.getRepository(Deployment).countBy({ service: body.service })).toBe(1);
    await waitForOperation(t, first.body.operation_id);
  });

  it('should start a single rollout when the same request is fired 20 times at once', async () => {
    const key = randomUUID();
    const body = { service: uniqueService('herd'), version: '2.0.0', environment: 'production' };
    const results = await Promise.all(Array.from({ length: 20 }, () => deploy(key, body)));

    const created = results.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const busy of results.filter((r) => r.status === 409)) {
      expect(busy.body.message).toMatch(/still being handled|concurrent/);
    }
    expect(await t.dataSource.getRepository(Deployment).countBy({ service: body.service })).toBe(1);
    await waitForOperation(t, created[0].body.operation_id);
    const later = await deploy(key, body);
    expect(later.status).toBe(201);
    expect(later.headers['idempotent-replayed']).toBe('true');
    expect(later.body.id).toBe(created[0].body.id);
  });

  it('should answer 422 idempotency_key_reused for the same key with another body or path', async () => {
    const key = randomUUID();
    const service = uniqueService('reuse');
    const first = await deploy(key, { service, version: '1', environment: 'staging' });
    expect(first.status).toBe(201);

    const otherBody = await deploy(key, { service, version: '2', environment: 'staging' });
    expect(otherBody.status).toBe(422);
    expect(otherBody.body.error).toBe('idempotency_key_reused');

    const otherPath = await t
      .http()
      .post('/api/v1/deployments/async')
      .set(bearer(ADMIN_KEY))
      .set('Idempotency-Key', key)
      .send({ service, version: '1', environment: 'staging' });
    expect(otherPath.status).toBe(422);
    expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(1);
    await waitForOperation(t, first.body.operation_id);
  });

  it('should keep keys apart per API key', async () => {
    const other = await createKey(t, { permissions: ['deployments:create', 'deployments:read'] });
    const key = randomUUID();
    const a = await deploy(key, {
      service: uniqueService('a'),
      version: '1',
      environment: 'staging',
    });
    const b = await deploy(
      key,
      { service: uniqueService('b'), version: '1', environment: 'staging' },
      other.secret,
    );
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).not.toBe(a.body.id);
    await Promise.all([
      waitForOperation(t, a.body.operation_id),
      waitForOperation(t, b.body.operation_id),
    ]);
  });

  it('should not keep a validation failure, so the corrected retry runs', async () => {
    const key = randomUUID();
    const service = uniqueService('fix');
    const bad = await deploy(key, { service, version: '1' });
    expect(bad.status).toBe(400);
    expect(
      await t.dataSource.getRepository(IdempotencyRecord).countBy({ idempotencyKey: key }),
    ).toBe(0);
    const good = await deploy(key, { service, version: '1', environment: 'staging' });
    expect(good.status).toBe(201);
    expect(good.headers['idempotent-replayed']).toBeUndefined();
    await waitForOperation(t, good.body.operation_id);
  });

  it('should replay a conflict the first request got', async () => {
    const service = uniqueService('busy');
    const running = await deploy(randomUUID(), { service, version: '1', environment: 'staging' });
    const key = randomUUID();
    const conflict = await deploy(key, { service, version: '2', environment: 'staging' });
    expect(conflict.status).toBe(409);
    await waitForOperation(t, running.body.operation_id);
    const replay = await deploy(key, { service, version: '2', environment: 'staging' });
    expect(replay.status).toBe(409);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.request_id).toBe(replay.headers['x-request-id']);
    expect(replay.body.request_id).not.toBe(conflict.body.request_id);
  });

  it('should create a key once and never store or replay its secret', async () => {
    const key = randomUUID();
    const body = { name: 'ci', permissions: ['deployments:read'], environments: ['*'] };
    const first = await t
      .http()
      .post('/api/v1/auth/keys')
      .set(bearer(ADMIN_KEY))
      .set('Idempotency-Key', key)
      .send(body);
    const retry = await t
      .http()
      .post('/api/v1/auth/keys')
      .set(bearer(ADMIN_KEY))
      .set('Idempotency-Key', key)
      .send(body);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(first.body.id);
    expect(first.body.secret).toMatch(/^fdk_/);
    expect(retry.body.secret).toBeUndefined();
    const record = await t.dataSource
      .getRepository(IdempotencyRecord)
      .findOneByOrFail({ idempotencyKey: key });
    expect(record.responseBody).not.toContain(first.body.secret);
  });

  it('should replay a rollback', async () => {
    const service = uniqueService('rb');
    for (const version of ['1', '2']) {
      const r = await deploy(randomUUID(), { service, version, environment: 'staging' });
      await waitForOperation(t, r.body.operation_id);
      if (version === '2') {
        const key = randomUUID();
        const call = () =>
          t
            .http()
            .post(`/api/v1/deployments/${r.body.id}/rollback`)
            .set(bearer(ADMIN_KEY))
            .set('Idempotency-Key', key)
            .send({});
        const first = await call();
        const retry = await call();
        expect(first.status).toBe(202);
        expect(retry.status).toBe(202);
        expect(retry.body.rollback_id).toBe(first.body.rollback_id);
        await waitForOperation(t, first.body.operation_id);
      }
    }
    expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(3);
  });

  it.each(['', 'x'.repeat(256), 'has space'])('should refuse the key %j with 400', async (key) => {
    const res = await t
      .http()
      .post('/api/v1/deployments')
      .set(bearer(ADMIN_KEY))
      .set('Idempotency-Key', key)
      .send({ service: uniqueService(), version: '1', environment: 'staging' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation_error');
  });
});
