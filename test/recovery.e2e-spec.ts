import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../src/config/app-config';
import { typeOrmOptions } from '../src/database/database.module';
import { DeploymentEvent } from '../src/deployments/deployment-event.entity';
import { Deployment, DeploymentStatus } from '../src/deployments/deployment.entity';
import { Operation, OperationStatus } from '../src/operations/operation.entity';
import { killOperationProcesses, markedProcesses } from '../src/operations/process-reaper';
import { uniqueService } from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import { startServerProcess } from './helpers/server-process';
import { createTestDatabase, TestDatabase } from './helpers/test-database';
import {
  ADMIN_KEY,
  bearer,
  eventually,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

const SLOW = writeDriversConfig(`
environments:
  slow: { driver: simulated, duration_ms: 60000 }
`);

/** Where the command fixture writes "<its pid> <its background child's pid>", per deployment. */
const PID_DIR = mkdtempSync(join(tmpdir(), 'fd-recovery-pids-'));
const COMMAND = writeDriversConfig(`
environments:
  cmd: { driver: command, command: [${JSON.stringify(join(__dirname, 'fixtures', 'sleep-with-child.sh'))}, ${JSON.stringify(PID_DIR)}] }
`);

/** The operations of the command fixture this file started. */
const started = new Set<string>();

/** Why the tests of what a crash leaves running cannot run here, if they cannot. */
const NO_PROC = existsSync('/proc/self/environ') ? undefined : 'no /proc to find processes in';
const NO_PDEATHSIG =
  NO_PROC ?? (setprivHasPdeathsig() ? undefined : 'no util-linux setpriv with --pdeathsig');
function setprivHasPdeathsig(): boolean {
  try {
    return execFileSync('setpriv', ['--help'], { encoding: 'utf8' }).includes('--pdeathsig');
  } catch {
    return false;
  }
}
const itWhen = (reason: string | undefined) => (name: string, fn: () => Promise<void>) =>
  reason ? it.skip(`${name} (skipped: ${reason})`, fn) : it(name, fn);

/** Alive: it exists and is not a zombie (a killed process nobody has waited for yet). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Waits for the fixture's pid file: [the command's pid, its background child's pid]. */
async function pidsOf(deployment: Record<string, string>): Promise<[number, number]> {
  started.add(deployment.operation_id);
  const file = join(PID_DIR, `${deployment.id}.pids`);
  await eventually(() => Promise.resolve(existsSync(file)), 20000);
  const [command, child] = readFileSync(file, 'utf8').trim().split(' ').map(Number);
  return [command, child];
}

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
  const created = await call(base, 'POST', '/api/v1/deployments', {
    service,
    version: '1',
    environment: 'slow',
  });
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

  afterAll(async () => {
    // Nothing a failed test left may run on.
    await killOperationProcesses(started);
    rmSync(PID_DIR, { recursive: true, force: true });
  });

  it('should fail a rollout whose process was killed, with a message saying so, and free the environment', async () => {
    const server = await startServerProcess({ ...database.env, FLIGHTDECK_CONFIG: SLOW });
    const service = uniqueService('crash');
    const deployment = await runningRolloutOn(server.base, service);
    server.child.kill('SIGKILL');
    await server.exited;

    t = await startTestApp(
      { FLIGHTDECK_OPERATION_LEASE_MS: '1000', FLIGHTDECK_CONFIG: SLOW },
      database,
    );
    const op = await waitForOperation(t, deployment.operation_id);

    expect(op.status).toBe('failed');
    expect(op.error.code).toBe('runner_lost');
    expect(op.error.message).toMatch(/stopped before it finished/);
    const after = await t.http().get(`/api/v1/deployments/${deployment.id}`).set(bearer(ADMIN_KEY));
    expect(after.body.status).toBe('failed');
    const events = await t
      .http()
      .get(`/api/v1/deployments/${deployment.id}/events`)
      .set(bearer(ADMIN_KEY));
    expect(events.body.events.map((e: { status: string }) => e.status)).toEqual([
      'pending',
      'in_progress',
      'failed',
    ]);
    const next = await t
      .http()
      .post('/api/v1/deployments')
      .set(bearer(ADMIN_KEY))
      .send({ service, version: '2', environment: 'staging' });
    expect(next.status).toBe(201);
    await waitForOperation(t, next.body.operation_id);
  });

  itWhen(NO_PDEATHSIG)(
    'should kill a killed server’s deploy command with it, and what the command started before the environment is free',
    async () => {
      const server = await startServerProcess({ ...database.env, FLIGHTDECK_CONFIG: COMMAND });
      const service = uniqueService('orphan-cmd');
      const created = await call(server.base, 'POST', '/api/v1/deployments', {
        service,
        version: '1',
        environment: 'cmd',
      });
      expect(created.status).toBe(201);
      const [command, background] = await pidsOf(created.body);
      server.child.kill('SIGKILL');
      await server.exited;

      // The kernel kills the command as its parent dies; what it started in the background lives.
      await eventually(() => Promise.resolve(!isRunning(command)), 10000);
      expect(isRunning(background)).toBe(true);

      t = await startTestApp(
        { FLIGHTDECK_OPERATION_LEASE_MS: '1000', FLIGHTDECK_CONFIG: COMMAND },
        database,
      );
      const op = await waitForOperation(t, created.body.operation_id);
      expect(op.error?.code).toBe('runner_lost');
      // Gone by the time the environment is free, not some time later, and nothing else of it.
      expect(isRunning(background)).toBe(false);
      expect((await markedProcesses()).get(created.body.operation_id)).toBeUndefined();

      const next = await t
        .http()
        .post('/api/v1/deployments')
        .set(bearer(ADMIN_KEY))
        .send({ service, version: '2', environment: 'cmd' });
      expect(next.status).toBe(201);
      await pidsOf(next.body);
      const cancel = await t
        .http()
        .post(`/api/v1/operations/${next.body.operation_id}/cancel`)
        .set(bearer(ADMIN_KEY));
      expect(cancel.status).toBe(202);
      await waitForOperation(t, next.body.operation_id);
    },
  );

  itWhen(NO_PROC)(
    'should kill, when it starts, what a command of an operation another replica failed as runner_lost left running',
    async () => {
      const server = await startServerProcess({ ...database.env, FLIGHTDECK_CONFIG: COMMAND });
      const created = await call(server.base, 'POST', '/api/v1/deployments', {
        service: uniqueService('left'),
        version: '1',
        environment: 'cmd',
      });
      expect(created.status).toBe(201);
      const [, background] = await pidsOf(created.body);
      server.child.kill('SIGKILL');
      await server.exited;
      expect(isRunning(background)).toBe(true);

      // What a replica on another host does once the lease has passed: it cannot reach the process.
      const config = AppConfig.fromEnvironment({ DATABASE_URL: database.url });
      const other = new DataSource({
        ...(typeOrmOptions(config) as DataSourceOptions),
        entities: [Operation],
      });
      await other.initialize();
      await other.getRepository(Operation).update(created.body.operation_id, {
        status: OperationStatus.Failed,
        errorCode: 'runner_lost',
        finishedAt: new Date().toISOString(),
      });
      await other.destroy();

      t = await startTestApp({ FLIGHTDECK_CONFIG: COMMAND }, database);
      await eventually(() => Promise.resolve(!isRunning(background)), 10000);
      expect((await markedProcesses()).get(created.body.operation_id)).toBeUndefined();
    },
  );

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
    const op = await t
      .http()
      .get(`/api/v1/operations/${deployment.operation_id}`)
      .set(bearer(ADMIN_KEY));
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
