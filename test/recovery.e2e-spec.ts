import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../src/config/app-config';
import { typeOrmOptions } from '../src/database/database.module';
import { DeploymentEvent } from '../src/deployments/deployment-event.entity';
import { Deployment, DeploymentStatus } from '../src/deployments/deployment.entity';
import { Operation, OperationStatus } from '../src/operations/operation.entity';
import { uniqueService } from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import { startServerProcess } from './helpers/server-process';
import { createTestDatabase, TestDatabase } from './helpers/test-database';
import { ADMIN_KEY, bearer, eventually, startTestApp, TestApp, waitForOperation } from './helpers/test-app';

const SLOW = writeDriversConfig(`
environments:
  slow: { driver: simulated, duration_ms: 60000 }
`);

async function call(base: string, method: string, path: string, body?: object) {
  const res = await fetch(base + path, {
    method,
    headers: { ...bearer(ADMIN_KEY), 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Starts a slow rollout on a separate server process and waits until it is running. */
async function runningRolloutOn(base: string, service: string) {
  const created = await call(base, 'POST', '/api/v1/deployments', { service, version: '1', environment: 'slow' });
  expect(created.status).toBe(201);
  await eventually(async () => {
    const op = await call(base, 'GET', `/api/v1/operations/${created.body.operation_id}`);
    return op.body.status === 'running' && op.body.progress > 0;
  });
  return created.body;
}

describe('Restart recovery (e2e)', () => {
  let database: TestDatabase;
  let t: TestApp | undefined;

  beforeEach(async () => {
    database = await createTestDatabase();
  });

  afterEach(async () => {
    if (t) await t.close({ keepDatabase: true });
    t = undefined;
    await database.drop();
  });

  it('should fail a rollout whose process was killed, with a message saying so, and free the environment', async () => {
    const server = await startServerProcess({ ...database.env, FLIGHTDECK_CONFIG: SLOW });
    const service = uniqueService('crash');
    const deployment = await runningRolloutOn(server.base, service);
    server.child.kill('SIGKILL');
    await server.exited;

    t = await startTestApp({ FLIGHTDECK_OPERATION_LEASE_MS: '1000', FLIGHTDECK_CONFIG: SLOW }, database);
    const op = await waitForOperation(t, deployment.operation_id);

    expect(op.status).toBe('failed');
    expect(op.error.code).toBe('runner_lost');
    expect(op.error.message).toMatch(/stopped before it finished/);
    const after = await t.http().get(`/api/v1/deployments/${deployment.id}`).set(bearer(ADMIN_KEY));
    expect(after.body.status).toBe('failed');
    const events = await t.http().get(`/api/v1/deployments/${deployment.id}/events`).set(bearer(ADMIN_KEY));
    expect(events.body.events.map((e: { status: string }) => e.status)).toEqual(['pending', 'in_progress', 'failed']);
    const next = await t
      .http()
      .post('/api/v1/deployments')
      .set(bearer(ADMIN_KEY))
      .send({ service, version: '2', environment: 'staging' });
    expect(next.status).toBe(201);
    await waitForOperation(t, next.body.operation_id);
  });

  it('should stop running rollouts on SIGTERM after the grace period, record them failed, and exit', async () => {
    const server = await startServerProcess({
      ...database.env,
      FLIGHTDECK_CONFIG: SLOW,
      FLIGHTDECK_SHUTDOWN_GRACE_MS: '300',
    });
    const deployment = await runningRolloutOn(server.base, uniqueService('term'));
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit === 0 || exit === 'SIGTERM').toBe(true);

    t = await startTestApp({ FLIGHTDECK_CONFIG: SLOW }, database);
    const op = await t.http().get(`/api/v1/operations/${deployment.operation_id}`).set(bearer(ADMIN_KEY));
    expect(op.body.status).toBe('failed');
    expect(op.body.error.code).toBe('shutdown');
  });

  it('should resume a pending operation that no process had picked up', async () => {
    // A process that committed a rollout and died before handing it to its runner leaves this.
    const config = AppConfig.fromEnvironment({ DATABASE_URL: database.url });
    const seed = new DataSource({
      ...(typeOrmOptions(config) as DataSourceOptions),
      entities: [Deployment, DeploymentEvent, Operation],
    });
    await seed.initialize();
    const old = new Date(Date.now() - 60_000).toISOString();
    const service = uniqueService('orphan');
    await seed.getRepository(Deployment).insert({
      id: 'dep-orphan',
      service,
      version: '9',
      environment: 'staging',
      status: DeploymentStatus.Pending,
      description: null,
      createdBy: 'admin',
      createdByKeyId: 'k',
      createdAt: old,
      startedAt: null,
      finishedAt: null,
      operationId: 'op-orphan',
      rollbackOf: null,
    });
    await seed.getRepository(Operation).insert({
      id: 'op-orphan',
      type: 'deployment.rollout',
      status: OperationStatus.Pending,
      progress: 0,
      targetType: 'deployment',
      targetId: 'dep-orphan',
      scope: 'staging',
      message: null,
      errorCode: null,
      errorMessage: null,
      result: null,
      cancelRequested: false,
      runnerId: null,
      heartbeatAt: null,
      createdAt: old,
      startedAt: null,
      updatedAt: old,
      finishedAt: null,
    });
    await seed.destroy();

    t = await startTestApp({}, database);
    const op = await waitForOperation(t, 'op-orphan');
    expect(op.status).toBe('succeeded');
    const deployment = await t.http().get('/api/v1/deployments/dep-orphan').set(bearer(ADMIN_KEY));
    expect(deployment.body.status).toBe('successful');
  });
});
