import { Deployment, DeploymentStatus } from '../src/deployments/deployment.entity';
import {
  deployAndWait,
  deploymentRow,
  requestDeployment,
  uniqueService,
} from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import { ADMIN_KEY, bearer, startTestApp, TestApp } from './helpers/test-app';

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

describe('promotion gate (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      FLIGHTDECK_CONFIG: writeDriversConfig(`
default: { driver: simulated, duration_ms: 50 }
environments:
  production: { requires: [staging, qa], soak_minutes: 30 }
  canary: { requires: [staging] }
`),
    });
  });

  afterAll(() => t.close());

  const successfulIn = (service: string, environment: string, version: string, finished: string) =>
    t.dataSource
      .getRepository(Deployment)
      .insert(
        deploymentRow({ service, environment, version, finishedAt: finished, createdAt: finished }),
      );

  it('should refuse a version that has not succeeded in a required environment, naming each, and write nothing', async () => {
    const service = uniqueService('promo');
    await successfulIn(service, 'staging', '2.0.0', minutesAgo(60));
    const res = await requestDeployment(t, {
      service,
      version: '2.0.0',
      environment: 'production',
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('deployment_blocked');
    expect(res.body.details.gates).toEqual([
      {
        type: 'promotion',
        environment: 'qa',
        reason: `${service} 2.0.0 has not succeeded in qa`,
      },
    ]);
    expect(
      await t.dataSource.getRepository(Deployment).countBy({ service, environment: 'production' }),
    ).toBe(0);
  });

  it('should refuse until the soak has passed, saying when it ends', async () => {
    const service = uniqueService('promo');
    await successfulIn(service, 'staging', '3.0.0', minutesAgo(10));
    await successfulIn(service, 'qa', '3.0.0', minutesAgo(45));
    const res = await requestDeployment(t, {
      service,
      version: '3.0.0',
      environment: 'production',
    });
    expect(res.status).toBe(409);
    const [gate] = res.body.details.gates;
    expect(gate).toMatchObject({ type: 'promotion', environment: 'staging' });
    expect(gate.reason).toMatch(
      new RegExp(
        `^${service} 3\\.0\\.0 succeeded in staging at .*; its 30-minute soak there ends at .* \\(in 20 min\\)$`,
      ),
    );
    expect(Date.parse(gate.soak_ends_at) - Date.now()).toBeGreaterThan(19 * 60_000);
  });

  it('should pass once the version succeeded everywhere it must, long enough ago', async () => {
    const service = uniqueService('promo');
    await successfulIn(service, 'staging', '4.0.0', minutesAgo(31));
    await successfulIn(service, 'qa', '4.0.0', minutesAgo(90));
    const res = await requestDeployment(t, {
      service,
      version: '4.0.0',
      environment: 'production',
    });
    expect(res.status).toBe(201);
  });

  it('should not count a success that was rolled back', async () => {
    const service = uniqueService('promo');
    await t.dataSource.getRepository(Deployment).insert(
      deploymentRow({
        service,
        environment: 'staging',
        version: '5.0.0',
        status: DeploymentStatus.RolledBack,
        finishedAt: minutesAgo(5),
      }),
    );
    const res = await requestDeployment(t, { service, version: '5.0.0', environment: 'canary' });
    expect(res.status).toBe(409);
    expect(res.body.details.gates[0].reason).toBe(`${service} 5.0.0 has not succeeded in staging`);
  });

  it('should promote through real rollouts, and show the gate in preflight', async () => {
    const service = uniqueService('promo');
    const preflight = () =>
      t
        .http()
        .post('/api/v1/deployments/preflight')
        .set(bearer(ADMIN_KEY))
        .send({ service, version: '1.0.0', environment: 'canary' });
    const before = await preflight();
    expect(before.status).toBe(200);
    expect(before.body.allowed).toBe(false);
    expect(before.body.gates).toContainEqual(
      expect.objectContaining({ type: 'promotion', status: 'blocked' }),
    );

    await deployAndWait(t, { service, version: '1.0.0', environment: 'staging' });
    const after = await preflight();
    expect(after.body.allowed).toBe(true);
    expect(after.body.gates).toContainEqual({
      type: 'promotion',
      status: 'passed',
      reason: `${service} 1.0.0 succeeded in staging`,
    });
    const canary = await deployAndWait(t, { service, version: '1.0.0', environment: 'canary' });
    expect(canary.status).toBe('successful');
  });

  it('should let an override pass it, keeping the reason', async () => {
    const service = uniqueService('promo');
    const res = await requestDeployment(t, {
      service,
      version: '9.9.9',
      environment: 'canary',
      override: { reason: 'hotfix INC-7' },
    } as never);
    expect(res.status).toBe(201);
    expect(res.body.override_reason).toBe('hotfix INC-7');
  });

  it('should not apply to a rollback', async () => {
    const service = uniqueService('promo');
    await successfulIn(service, 'staging', '1.0.0', minutesAgo(120));
    await successfulIn(service, 'staging', '2.0.0', minutesAgo(120));
    const first = await deployAndWait(t, { service, version: '1.0.0', environment: 'canary' });
    const second = await deployAndWait(t, { service, version: '2.0.0', environment: 'canary' });
    expect([first.status, second.status]).toEqual(['successful', 'successful']);
    // Policy changes are not retroactive: a rollback to 1.0.0 passes whatever staging says now.
    await t.dataSource
      .getRepository(Deployment)
      .update({ service, environment: 'staging' }, { status: DeploymentStatus.RolledBack });
    const rollback = await t
      .http()
      .post(`/api/v1/deployments/${second.id}/rollback`)
      .set(bearer(ADMIN_KEY))
      .send({});
    expect(rollback.status).toBe(202);
  });
});
