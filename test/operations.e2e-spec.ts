import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import {
  ADMIN_KEY,
  bearer,
  eventually,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

describe('Operations (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    const config = writeDriversConfig(`
environments:
  slow: { driver: simulated, duration_ms: 4000 }
`);
    t = await startTestApp({ FLIGHTDECK_CONFIG: config });
  });

  afterAll(async () => {
    await t.close();
  });

  const getOp = async (id: string) =>
    (await t.http().get(`/api/v1/operations/${id}`).set(bearer(ADMIN_KEY))).body;
  const cancel = (id: string) =>
    t.http().post(`/api/v1/operations/${id}/cancel`).set(bearer(ADMIN_KEY));

  describe('GET /api/v1/operations/{id}', () => {
    it('should show progress rising in steps while it runs, then 100 and a result', async () => {
      const created = await requestDeployment(t, {
        service: uniqueService(),
        version: '7',
        environment: 'slow',
      });
      const seen = new Set<number>();
      await eventually(async () => {
        const op = await getOp(created.body.operation_id);
        seen.add(op.progress);
        return op.status === 'succeeded';
      });
      const op = await getOp(created.body.operation_id);
      expect([...seen].some((p) => p > 0 && p < 100)).toBe(true);
      expect(op).toMatchObject({
        status: 'succeeded',
        progress: 100,
        error: null,
        result: { deployment_id: created.body.id, version: '7', environment: 'slow' },
      });
      expect(op.finished_at >= op.started_at).toBe(true);
    });

    it('should answer 404 resource_not_found for any unknown id', async () => {
      for (const id of ['nope', '00000000-0000-0000-0000-000000000000', '%00']) {
        const res = await t.http().get(`/api/v1/operations/${id}`).set(bearer(ADMIN_KEY));
        expect(res.status).toBe(404);
        expect(res.body.error).toBe('resource_not_found');
      }
    });
  });

  describe('POST /api/v1/operations/{id}/cancel', () => {
    it('should stop a running rollout: 202 at once, then cancelled, and the deployment cancelled', async () => {
      const created = await requestDeployment(t, {
        service: uniqueService('cancel'),
        version: '1',
        environment: 'slow',
      });
      const opId = created.body.operation_id;
      await eventually(async () => (await getOp(opId)).status === 'running');

      const res = await cancel(opId);

      expect(res.status).toBe(202);
      expect(res.body.id).toBe(opId);
      expect(['running', 'cancelled']).toContain(res.body.status);
      const op = await waitForOperation(t, opId);
      expect(op.status).toBe('cancelled');
      expect(op.progress).toBeLessThan(100);
      const deployment = await t
        .http()
        .get(`/api/v1/deployments/${created.body.id}`)
        .set(bearer(ADMIN_KEY));
      expect(deployment.body.status).toBe('cancelled');
      const events = await t
        .http()
        .get(`/api/v1/deployments/${created.body.id}/events`)
        .set(bearer(ADMIN_KEY));
      expect(events.body.events.map((e: { status: string }) => e.status)).toEqual([
        'pending',
        'in_progress',
        'cancelled',
      ]);
    });

    it('should free the service and environment for the next rollout once cancelled', async () => {
      const service = uniqueService('free');
      const created = await requestDeployment(t, { service, version: '1', environment: 'slow' });
      await eventually(async () => (await getOp(created.body.operation_id)).status === 'running');
      await cancel(created.body.operation_id);
      await waitForOperation(t, created.body.operation_id);
      const next = await requestDeployment(t, { service, version: '2', environment: 'staging' });
      const sameEnv = await requestDeployment(t, { service, version: '2', environment: 'slow' });
      expect(next.status).toBe(201);
      expect(sameEnv.status).toBe(201);
      await cancel(sameEnv.body.operation_id);
      await Promise.all([
        waitForOperation(t, next.body.operation_id),
        waitForOperation(t, sameEnv.body.operation_id),
      ]);
    });

    it('should answer 409 conflict for a finished operation and leave it as it was', async () => {
      const done = await deployAndWait(t, { service: uniqueService(), version: '1' });
      const res = await cancel(done.operation_id);
      expect(res.status).toBe(409);
      expect(res.body.error).toBe('conflict');
      expect((await getOp(done.operation_id)).status).toBe('succeeded');
    });

    it('should answer 404 for an unknown operation', async () => {
      expect((await cancel('missing')).status).toBe(404);
    });
  });

  describe('GET /api/v1/operations', () => {
    it('should list newest first, filter by status and type, and paginate', async () => {
      const service = uniqueService('ops');
      await deployAndWait(t, { service, version: '1' });
      const v2 = await deployAndWait(t, { service, version: '2' });
      const rb = await t
        .http()
        .post(`/api/v1/deployments/${v2.id}/rollback`)
        .set(bearer(ADMIN_KEY))
        .send({});
      await waitForOperation(t, rb.body.operation_id);

      const rollbacks = await t
        .http()
        .get('/api/v1/operations?type=deployment.rollback&status=succeeded')
        .set(bearer(ADMIN_KEY));
      expect(rollbacks.status).toBe(200);
      expect(rollbacks.body.operations.map((o: { id: string }) => o.id)).toContain(
        rb.body.operation_id,
      );
      expect(
        rollbacks.body.operations.every((o: { type: string }) => o.type === 'deployment.rollback'),
      ).toBe(true);

      const firstPage = await t.http().get('/api/v1/operations?per_page=2').set(bearer(ADMIN_KEY));
      expect(firstPage.body).toMatchObject({ page: 1, per_page: 2 });
      expect(firstPage.body.operations).toHaveLength(2);
      expect(firstPage.body.total).toBeGreaterThanOrEqual(3);
      const [a, b] = firstPage.body.operations;
      expect(a.created_at >= b.created_at).toBe(true);

      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `type=deployment.rollout&per_page=1${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await t.http().get(`/api/v1/operations?${query}`).set(bearer(ADMIN_KEY));
        expect(res.status).toBe(200);
        walked.push(...res.body.operations.map((o: { id: string }) => o.id));
        cursor = res.body.next_cursor;
      } while (cursor && walked.length < 1000);
      const rollouts = await t
        .http()
        .get('/api/v1/operations?type=deployment.rollout&per_page=100')
        .set(bearer(ADMIN_KEY));
      expect(rollouts.body.total).toBeLessThan(100);
      expect(walked).toEqual(rollouts.body.operations.map((o: { id: string }) => o.id));
      expect(firstPage.body.operations[0].id).toBe(rb.body.operation_id);
    });

    it.each(['status=done', 'per_page=500', 'page=-1', 'unknown=1'])(
      'should refuse %s with 400',
      async (query) => {
        const res = await t.http().get(`/api/v1/operations?${query}`).set(bearer(ADMIN_KEY));
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('validation_error');
      },
    );
  });
});
