import { Deployment } from '../src/deployments/deployment.entity';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import { ADMIN_KEY, bearer, startTestApp, TestApp, waitForOperation } from './helpers/test-app';

describe('POST /api/v1/deployments/{id}/rollback (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Versions containing "bad" fail halfway; "slow" environments take long enough to catch running.
    const config = writeDriversConfig(`
default: { driver: simulated, fail_versions: "bad" }
environments:
  slow: { driver: simulated, duration_ms: 3000 }
`);
    t = await startTestApp({ FLIGHTDECK_CONFIG: config });
  });

  afterAll(async () => {
    await t.close();
  });

  const rollback = (id: string, body: object = {}) =>
    t.http().post(`/api/v1/deployments/${id}/rollback`).set(bearer(ADMIN_KEY)).send(body);
  const get = async (id: string) =>
    (await t.http().get(`/api/v1/deployments/${id}`).set(bearer(ADMIN_KEY))).body;

  it('should redeploy the previous successful version and end the rolled-back one rolled_back', async () => {
    const service = uniqueService('rb');
    const v1 = await deployAndWait(t, { service, version: '1.0.0', environment: 'production' });
    const v2 = await deployAndWait(t, { service, version: '2.0.0', environment: 'production' });

    const res = await rollback(v2.id, { reason: 'error rate doubled' });

    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      deployment_id: v2.id,
      status: 'initiated',
      requested_by: 'admin',
      reason: 'error rate doubled',
    });
    expect(res.headers.location).toBe(res.body.status_url);
    expect(res.body.status_url).toBe(`/api/v1/operations/${res.body.operation_id}`);

    const op = await waitForOperation(t, res.body.operation_id);
    expect(op).toMatchObject({ type: 'deployment.rollback', status: 'succeeded' });

    const restored = await get(res.body.rollback_id);
    expect(restored).toMatchObject({
      version: '1.0.0',
      status: 'successful',
      rollback_of: v2.id,
      service,
    });
    expect(restored.id).not.toBe(v1.id);
    expect(await get(v2.id)).toMatchObject({ status: 'rolled_back' });
    expect(await get(v1.id)).toMatchObject({ status: 'successful' });

    const events = await t.http().get(`/api/v1/deployments/${v2.id}/events`).set(bearer(ADMIN_KEY));
    expect(events.body.events.map((e: { status: string }) => e.status)).toEqual([
      'pending',
      'in_progress',
      'successful',
      'rolled_back',
    ]);
    expect(events.body.events[3].message).toContain(res.body.rollback_id);
  });

  it('should pick the last successful deployment before it, skipping failed ones', async () => {
    const service = uniqueService('skip');
    await deployAndWait(t, { service, version: '1' });
    await deployAndWait(t, { service, version: '2' });
    const failed = await deployAndWait(t, { service, version: '3-bad' });
    expect(failed.status).toBe('failed');
    const v4 = await deployAndWait(t, { service, version: '4' });

    const res = await rollback(v4.id);
    expect(res.status).toBe(202);
    await waitForOperation(t, res.body.operation_id);
    expect(await get(res.body.rollback_id)).toMatchObject({ version: '2', status: 'successful' });
  });

  it('should refuse to roll back a deployment that is not the current one, naming the current one, and start nothing', async () => {
    const service = uniqueService('older');
    await deployAndWait(t, { service, version: '1.0', environment: 'production' });
    const v11 = await deployAndWait(t, { service, version: '1.1', environment: 'production' });
    const v12 = await deployAndWait(t, { service, version: '1.2', environment: 'production' });

    const res = await rollback(v11.id);

    expect(res.status).toBe(409);
    expect(res.body.error).toBe('conflict');
    expect(res.body.message).toContain(v12.id);
    expect(res.body.message).toContain('1.2');
    expect(res.body.details).toEqual({ current_deployment_id: v12.id, current_version: '1.2' });
    expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(3);
    expect(await get(v11.id)).toMatchObject({ status: 'successful' });
    expect(await get(v12.id)).toMatchObject({ status: 'successful' });

    // The current one still rolls back, to 1.1; the rollback, once successful, is the current one.
    const current = await rollback(v12.id);
    expect(current.status).toBe(202);
    await waitForOperation(t, current.body.operation_id);
    expect(await get(current.body.rollback_id)).toMatchObject({
      version: '1.1',
      status: 'successful',
    });
    const stale = await rollback(v11.id);
    expect(stale.status).toBe(409);
    expect(stale.body.details).toEqual({
      current_deployment_id: current.body.rollback_id,
      current_version: '1.1',
    });
  });

  it('should answer 409 conflict when nothing came before it', async () => {
    const only = await deployAndWait(t, { service: uniqueService('first'), version: '1' });
    const res = await rollback(only.id);
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('conflict');
    expect(res.body.message).toMatch(/Nothing to roll back to/);
    expect(await get(only.id)).toMatchObject({ status: 'successful' });
  });

  it('should answer 409 deployment_failed for a deployment whose rollout failed, and start nothing', async () => {
    const service = uniqueService('failed');
    await deployAndWait(t, { service, version: '1' });
    const failed = await deployAndWait(t, { service, version: '2-bad' });
    expect(failed.status).toBe('failed');

    const res = await rollback(failed.id);

    expect(res.status).toBe(409);
    expect(res.body.error).toBe('deployment_failed');
    expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(2);
  });

  it('should answer 409 conflict for a deployment already rolled back', async () => {
    const service = uniqueService('twice');
    await deployAndWait(t, { service, version: '1' });
    const v2 = await deployAndWait(t, { service, version: '2' });
    const first = await rollback(v2.id);
    await waitForOperation(t, first.body.operation_id);

    const again = await rollback(v2.id);
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/already been rolled back/);
  });

  it('should answer 409 conflict while a rollout of that service and environment runs', async () => {
    const service = uniqueService('busy');
    await deployAndWait(t, { service, version: '1', environment: 'slow' });
    const running = await requestDeployment(t, { service, version: '2', environment: 'slow' });
    const res = await rollback(running.body.id);
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('conflict');
    await waitForOperation(t, running.body.operation_id);
  });

  it('should let only one of two simultaneous rollbacks start', async () => {
    const service = uniqueService('double');
    await deployAndWait(t, { service, version: '1' });
    const v2 = await deployAndWait(t, { service, version: '2' });
    const results = await Promise.all([rollback(v2.id), rollback(v2.id)]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
    await waitForOperation(t, results.find((r) => r.status === 202)!.body.operation_id);
    expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(3);
  });

  it('should validate the reason and answer unknown deployments with 404', async () => {
    const bad = await t
      .http()
      .post('/api/v1/deployments/whatever/rollback')
      .set(bearer(ADMIN_KEY))
      .send({ reason: 5 });
    expect(bad.status).toBe(400);
    const missing = await rollback('no-such-deployment');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('resource_not_found');
  });
});
