import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../src/config/app-config';
import { MIGRATIONS, typeOrmOptions } from '../src/database/database.module';
import { ServiceEnvironments1764000000010 } from '../src/database/migrations/1764000000010-service-environments';
import { Deployment, DeploymentStatus } from '../src/deployments/deployment.entity';
import { Operation, OperationStatus } from '../src/operations/operation.entity';
import {
  deployAndWait,
  deploymentRow,
  requestDeployment,
  uniqueService,
} from './factories/deployments';
import { createKey } from './factories/keys';
import { takeLock } from './factories/locks';
import { writeDriversConfig } from './helpers/drivers-config';
import { createTestDatabase } from './helpers/test-database';
import {
  ADMIN_KEY,
  bearer,
  eventually,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

type Row = Record<string, any>;

/** `GET /state` with this query string, as `secret` sees it. */
async function getState(t: TestApp, query: Record<string, string | number>, secret = ADMIN_KEY) {
  const search = new URLSearchParams(
    Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return t.http().get(`/api/v1/state?${search}`).set(bearer(secret));
}

/** The one row of `service` in `environment`. */
async function rowOf(t: TestApp, service: string, environment = 'staging'): Promise<Row> {
  const res = await getState(t, { service, environment });
  expect(res.status).toBe(200);
  expect(res.body.state).toHaveLength(1);
  return res.body.state[0];
}

/** What `current`/`previous` say of a deployment as `GET /deployments/{id}` shows it. */
const deployed = (d: Row) => ({
  deployment_id: d.id,
  version: d.version,
  finished_at: d.finished_at,
  created_by: d.created_by,
});

describe('GET /api/v1/state (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Versions containing "bad" fail halfway; "slow" takes long enough to be seen in flight.
    const config = writeDriversConfig(`
default: { driver: simulated, fail_versions: "bad" }
environments:
  slow: { driver: simulated, duration_ms: 2000 }
  reviewed: { approvals: { required: 1 } }
`);
    t = await startTestApp({ FLIGHTDECK_CONFIG: config });
  });

  afterAll(async () => {
    await t.close();
  });

  const getDeployment = async (id: string) =>
    (await t.http().get(`/api/v1/deployments/${id}`).set(bearer(ADMIN_KEY))).body as Row;
  const rollback = async (id: string) => {
    const res = await t
      .http()
      .post(`/api/v1/deployments/${id}/rollback`)
      .set(bearer(ADMIN_KEY))
      .send({});
    expect(res.status).toBe(202);
    await waitForOperation(t, res.body.operation_id);
    return getDeployment(res.body.rollback_id);
  };

  it('should list nothing for a service never deployed', async () => {
    const res = await getState(t, { service: uniqueService('never') });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ state: [], total: 0, page: 1, per_page: 50 });
  });

  it('should show the current and the previous version as rollouts succeed', async () => {
    const service = uniqueService('state');
    const v1 = await deployAndWait(t, { service, version: '1.0.0' });
    expect(await rowOf(t, service)).toEqual({
      service,
      environment: 'staging',
      current: deployed(v1),
      previous: null,
      in_flight: null,
      lock: null,
      frozen: false,
    });

    const v2 = await deployAndWait(t, { service, version: '2.0.0' });
    expect(await rowOf(t, service)).toMatchObject({
      current: deployed(v2),
      previous: deployed(v1),
    });

    // The same version again: current moves, previous stays the last other version.
    const v2Again = await deployAndWait(t, { service, version: '2.0.0' });
    expect(v2Again.finished_at).not.toBeNull();
    expect(await rowOf(t, service)).toMatchObject({
      current: deployed(v2Again),
      previous: deployed(v1),
      in_flight: null,
    });
  });

  it("should show the lock covering each pair, the service's own before its environment's, and whether it is frozen", async () => {
    const service = uniqueService('guarded');
    const other = uniqueService('guarded');
    const environment = uniqueService('env');
    await deployAndWait(t, { service, version: '1.0.0', environment });
    await deployAndWait(t, { service: other, version: '1.0.0', environment });
    const everyService = await takeLock(t, { environment, reason: 'Database upgrade' });
    const own = await takeLock(t, { environment, service, reason: 'Load test' });
    const rows = async () =>
      (await getState(t, { environment })).body.state as Array<Record<string, any>>;

    expect(await rows()).toEqual([
      expect.objectContaining({ service: [service, other].sort()[0] }),
      expect.objectContaining({ service: [service, other].sort()[1] }),
    ]);
    const byService = async () => new Map((await rows()).map((r) => [r.service, r]));
    expect((await byService()).get(service)).toMatchObject({ lock: own, frozen: false });
    expect((await byService()).get(other)).toMatchObject({ lock: everyService, frozen: false });

    const freeze = await t
      .http()
      .post('/api/v1/freezes')
      .set(bearer(ADMIN_KEY))
      .send({
        name: 'Release night',
        environments: [environment],
        services: [other],
        starts_at: new Date(Date.now() - 60_000).toISOString(),
        ends_at: new Date(Date.now() + 3_600_000).toISOString(),
      });
    expect(freeze.status).toBe(201);
    await t.http().delete(`/api/v1/locks/${own.id}`).set(bearer(ADMIN_KEY)).expect(204);

    expect((await byService()).get(service)).toMatchObject({ lock: everyService, frozen: false });
    expect((await byService()).get(other)).toMatchObject({ lock: everyService, frozen: true });
  });

  it('should show the rollout in flight with its progress, and a refused second one changes nothing', async () => {
    const service = uniqueService('flight');
    const v1 = await deployAndWait(t, { service, version: '1', environment: 'slow' });
    const started = await requestDeployment(t, { service, version: '2', environment: 'slow' });
    expect(started.status).toBe(201);

    const first = await rowOf(t, service, 'slow');
    expect(first.current).toEqual(deployed(v1));
    expect(first.in_flight).toMatchObject({
      deployment_id: started.body.id,
      version: '2',
      operation_id: started.body.operation_id,
    });
    expect(['pending', 'in_progress']).toContain(first.in_flight.status);
    let seen: Row = first;
    await eventually(async () => {
      seen = await rowOf(t, service, 'slow');
      return seen.in_flight?.status === 'in_progress' && seen.in_flight.progress > 0;
    });
    const operation = await t
      .http()
      .get(`/api/v1/operations/${started.body.operation_id}`)
      .set(bearer(ADMIN_KEY));
    expect(operation.body.progress).toBeGreaterThanOrEqual(seen.in_flight.progress);

    const refused = await requestDeployment(t, { service, version: '3', environment: 'slow' });
    expect(refused.status).toBe(409);
    expect((await rowOf(t, service, 'slow')).in_flight.deployment_id).toBe(started.body.id);

    await waitForOperation(t, started.body.operation_id);
    expect(await rowOf(t, service, 'slow')).toMatchObject({
      current: deployed(await getDeployment(started.body.id)),
      previous: deployed(v1),
      in_flight: null,
    });
  });

  it('should show a rollout awaiting approval in flight, and nothing once it is rejected', async () => {
    const service = uniqueService('state');
    const requested = await requestDeployment(t, {
      service,
      version: '1.0.0',
      environment: 'reviewed',
    });
    expect(requested.body.status).toBe('awaiting_approval');
    expect((await rowOf(t, service, 'reviewed')).in_flight).toEqual({
      deployment_id: requested.body.id,
      version: '1.0.0',
      status: 'awaiting_approval',
      operation_id: requested.body.operation_id,
      progress: 0,
    });

    const reviewer = await createKey(t, { permissions: ['deployments:approve'] });
    const rejected = await t
      .http()
      .post(`/api/v1/deployments/${requested.body.id}/reviews`)
      .set(bearer(reviewer.secret))
      .send({ decision: 'reject', comment: 'not now' });
    expect(rejected.status).toBe(201);
    expect(await rowOf(t, service, 'reviewed')).toMatchObject({ current: null, in_flight: null });
  });

  it('should keep the current version when a rollout fails', async () => {
    const service = uniqueService('failing');
    const v1 = await deployAndWait(t, { service, version: '1' });
    const failed = await deployAndWait(t, { service, version: '2-bad' });
    expect(failed.status).toBe('failed');

    expect(await rowOf(t, service)).toMatchObject({
      current: deployed(v1),
      previous: null,
      in_flight: null,
    });
  });

  it('should show a service whose only rollout failed, with nothing current', async () => {
    const service = uniqueService('never-live');
    await deployAndWait(t, { service, version: '1-bad' });

    expect(await rowOf(t, service)).toMatchObject({
      current: null,
      previous: null,
      in_flight: null,
    });
  });

  it('should make a rollback current, and the rolled-back version no longer previous', async () => {
    const service = uniqueService('rolled');
    const v0 = await deployAndWait(t, { service, version: '0' });
    await deployAndWait(t, { service, version: '1' });
    const v2 = await deployAndWait(t, { service, version: '2' });

    const restored = await rollback(v2.id);

    expect(restored).toMatchObject({ version: '1', status: 'successful', rollback_of: v2.id });
    expect(await rowOf(t, service)).toMatchObject({
      current: deployed(restored),
      previous: deployed(v0), // 2 was rolled back: no longer successful
      in_flight: null,
    });

    const v3 = await deployAndWait(t, { service, version: '3' });
    expect(await rowOf(t, service)).toMatchObject({
      current: deployed(v3),
      previous: deployed(restored),
    });
  });

  it('should leave nothing previous after rolling back the second version ever deployed', async () => {
    const service = uniqueService('rolled');
    await deployAndWait(t, { service, version: '1' });
    const v2 = await deployAndWait(t, { service, version: '2' });

    const restored = await rollback(v2.id);

    expect(await rowOf(t, service)).toMatchObject({ current: deployed(restored), previous: null });
  });

  it('should keep each service right when many deploy at once', async () => {
    const services = Array.from({ length: 4 }, () => uniqueService('many'));
    const environments = ['staging', 'production'];
    await Promise.all(
      services.flatMap((service) =>
        environments.map((environment) => deployAndWait(t, { service, version: '1', environment })),
      ),
    );
    const second = await Promise.all(
      services.flatMap((service) =>
        environments.map((environment) => deployAndWait(t, { service, version: '2', environment })),
      ),
    );

    for (const v2 of second) {
      const row = await rowOf(t, v2.service, v2.environment);
      expect(row.current).toEqual(deployed(v2));
      expect(row.previous).toMatchObject({ version: '1' });
    }
  });

  describe('filters, scope and pages', () => {
    // Names of letters and digits only: the same order under any collation.
    const prefix = `ord${randomBytes(4).toString('hex')}`;
    const [a, b] = [`${prefix}a`, `${prefix}b`];

    beforeAll(async () => {
      await Promise.all([
        deployAndWait(t, { service: a, version: '1', environment: 'staging' }),
        deployAndWait(t, { service: a, version: '1', environment: 'production' }),
        deployAndWait(t, { service: a, version: '1', environment: 'qa' }),
        deployAndWait(t, { service: b, version: '1', environment: 'production' }),
      ]);
    });

    const pairs = (body: Row) =>
      body.state.map((r: Row) => `${r.service}/${r.environment}`) as string[];

    it('should list one row per service and environment, ordered by service then environment', async () => {
      const res = await getState(t, { service: a });

      expect(res.body).toMatchObject({ total: 3, page: 1, per_page: 50 });
      expect(pairs(res.body)).toEqual([`${a}/production`, `${a}/qa`, `${a}/staging`]);

      const all = await getState(t, { per_page: 100 });
      const listed = pairs(all.body);
      expect(listed.indexOf(`${a}/staging`)).toBeLessThan(listed.indexOf(`${b}/production`));
      expect(all.body.total).toBeGreaterThanOrEqual(4);
    });

    it('should filter by environment, and by both', async () => {
      const production = await getState(t, { environment: 'production', per_page: 100 });
      expect(production.body.state.every((r: Row) => r.environment === 'production')).toBe(true);
      expect(pairs(production.body)).toEqual(
        expect.arrayContaining([`${a}/production`, `${b}/production`]),
      );

      const both = await getState(t, { service: b, environment: 'production' });
      expect(both.body).toMatchObject({ total: 1 });
      expect(pairs(both.body)).toEqual([`${b}/production`]);

      const none = await getState(t, { service: b, environment: 'staging' });
      expect(none.body).toEqual({ state: [], total: 0, page: 1, per_page: 50 });
    });

    it("should show a key only its environments' rows", async () => {
      const staging = await createKey(t, {
        permissions: ['deployments:read'],
        environments: ['staging'],
      });

      const mine = await getState(t, { service: a }, staging.secret);
      expect(mine.status).toBe(200);
      expect(mine.body).toMatchObject({ total: 1 });
      expect(pairs(mine.body)).toEqual([`${a}/staging`]);

      const everything = await getState(t, { per_page: 100 }, staging.secret);
      expect(everything.body.state.every((r: Row) => r.environment === 'staging')).toBe(true);

      const elsewhere = await getState(t, { environment: 'production' }, staging.secret);
      expect(elsewhere.status).toBe(200);
      expect(elsewhere.body).toEqual({ state: [], total: 0, page: 1, per_page: 50 });
    });

    it('should refuse a key without deployments:read', async () => {
      const writer = await createKey(t, { permissions: ['deployments:create'] });

      const res = await getState(t, { service: a }, writer.secret);

      expect(res.status).toBe(403);
      expect(res.body.error).toBe('authorization_error');
    });

    it('should page by number, counting services and environments', async () => {
      const first = await getState(t, { service: a, per_page: 2 });
      expect(first.body).toMatchObject({ total: 3, page: 1, per_page: 2 });
      expect(pairs(first.body)).toEqual([`${a}/production`, `${a}/qa`]);

      const second = await getState(t, { service: a, per_page: 2, page: 2 });
      expect(second.body).toMatchObject({ total: 3, page: 2, per_page: 2 });
      expect(pairs(second.body)).toEqual([`${a}/staging`]);

      const past = await getState(t, { service: a, per_page: 2, page: 3 });
      expect(past.body).toEqual({ state: [], total: 3, page: 3, per_page: 2 });
    });

    it.each([
      [{ per_page: 0 }, 'per_page'],
      [{ per_page: 101 }, 'per_page'],
      [{ per_page: 'ten' }, 'per_page'],
      [{ page: 0 }, 'page'],
      [{ page: '1.5' }, 'page'],
      [{ service: 'Not A Slug' }, 'service'],
      [{ environment: 'prod!' }, 'environment'],
      [{ cursor: 'abc' }, 'cursor'],
      [{ status: 'successful' }, 'status'],
    ])('should refuse %j with 400 naming %s', async (query, field) => {
      const res = await getState(t, query);

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('validation_error');
      expect(res.body.details.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    });
  });
});

describe('GET /api/v1/state on deployments made before the upgrade (e2e)', () => {
  it('should fill each service and environment from the deployments already there', async () => {
    const database = await createTestDatabase();
    // The schema as it was before the state was kept, with deployments written straight into it.
    const config = AppConfig.fromEnvironment({ DATABASE_URL: database.url });
    const before = new DataSource({
      ...(typeOrmOptions(config) as DataSourceOptions),
      migrations: MIGRATIONS.slice(0, MIGRATIONS.indexOf(ServiceEnvironments1764000000010)),
      entities: [Deployment, Operation],
    });
    await before.initialize();
    const [rolled, running, failing] = ['rolled', 'running', 'failing'].map(uniqueService);
    let minute = 0;
    const at = () => new Date(Date.UTC(2026, 10, 1, 0, minute++)).toISOString();
    const row = (service: string, version: string, status: DeploymentStatus, more = {}) =>
      deploymentRow({ service, version, status, createdAt: at(), finishedAt: at(), ...more });
    // v0, v1, v2, then v2 rolled back to v1.
    const v0 = row(rolled, '0', DeploymentStatus.Successful);
    const v1 = row(rolled, '1', DeploymentStatus.Successful);
    const v2 = row(rolled, '2', DeploymentStatus.RolledBack);
    const back = row(rolled, '1', DeploymentStatus.Successful, { rollbackOf: v2.id });
    // 1 live, 2 failed, 3 in progress at 30 %.
    const r1 = row(running, '1', DeploymentStatus.Successful);
    const r2 = row(running, '2', DeploymentStatus.Failed);
    const r3 = row(running, '3', DeploymentStatus.InProgress, { finishedAt: null });
    const f1 = row(failing, '1', DeploymentStatus.Failed, { environment: 'production' });
    // Only the columns the schema had then (later migrations add more to the entities).
    const columnsOf = (entity: typeof Deployment | typeof Operation, added: string[]) =>
      before
        .getMetadata(entity)
        .columns.map((c) => c.propertyName)
        .filter((name) => !added.includes(name));
    await before
      .createQueryBuilder()
      .insert()
      .into(
        Deployment,
        columnsOf(Deployment, ['approvalsRequired', 'approvalsReceived', 'approvalExpiresAt']),
      )
      .values([v0, v1, v2, back, r1, r2, r3, f1])
      .updateEntity(false)
      .execute();
    await before
      .createQueryBuilder()
      .insert()
      .into(Operation, columnsOf(Operation, ['held']))
      .values({
        id: r3.operationId,
        type: 'deployment.rollout',
        status: OperationStatus.Running,
        progress: 30,
        targetType: 'deployment',
        targetId: r3.id,
        scope: 'staging',
        message: null,
        errorCode: null,
        errorMessage: null,
        result: null,
        cancelRequested: false,
        // A runner that keeps beating as far as this test goes: the recovery sweep leaves it be.
        runnerId: `elsewhere-${randomUUID()}`,
        heartbeatAt: '2100-01-01T00:00:00.000Z',
        createdAt: r3.createdAt,
        startedAt: r3.createdAt,
        updatedAt: r3.createdAt,
        finishedAt: null,
      })
      .updateEntity(false)
      .execute();
    await before.destroy();

    const t = await startTestApp({}, database);
    try {
      const version = (d: Deployment) => ({
        deployment_id: d.id,
        version: d.version,
        finished_at: d.finishedAt,
        created_by: d.createdBy,
      });
      expect(await rowOf(t, rolled)).toMatchObject({
        current: version(back),
        previous: version(v0),
        in_flight: null,
      });
      expect(await rowOf(t, running)).toMatchObject({
        current: version(r1),
        previous: null,
        in_flight: {
          deployment_id: r3.id,
          version: '3',
          status: 'in_progress',
          operation_id: r3.operationId,
          progress: 30,
        },
      });
      expect(await rowOf(t, failing, 'production')).toMatchObject({
        current: null,
        previous: null,
        in_flight: null,
      });
      // The counts came along: a list's total is still exact.
      const listed = await t
        .http()
        .get(`/api/v1/deployments?service=${rolled}`)
        .set(bearer(ADMIN_KEY));
      expect(listed.body.total).toBe(4);
    } finally {
      await t.close();
    }
  });
});
