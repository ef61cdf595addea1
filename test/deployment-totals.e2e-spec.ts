import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../src/config/app-config';
import { MIGRATIONS, typeOrmOptions } from '../src/database/database.module';
import { DeploymentCounts1764000000007 } from '../src/database/migrations/1764000000007-deployment-counts';
import { ServiceEnvironments1764000000010 } from '../src/database/migrations/1764000000010-service-environments';
import { Deployment } from '../src/deployments/deployment.entity';
import {
  deployAndWait,
  deploymentRow,
  requestDeployment,
  uniqueService,
} from './factories/deployments';
import { createTestDatabase } from './helpers/test-database';
import { ADMIN_KEY, bearer, startTestApp, TestApp, waitForOperation } from './helpers/test-app';

/** `total` of the list at `query`, and the rows it should count, read straight from the table. */
async function totals(t: TestApp, where: { service?: string; environment?: string } = {}) {
  const query = new URLSearchParams(where as Record<string, string>).toString();
  const res = await t.http().get(`/api/v1/deployments?${query}`).set(bearer(ADMIN_KEY));
  expect(res.status).toBe(200);
  const counted = await t.dataSource.getRepository(Deployment).countBy(where);
  return { listed: res.body.total as number, counted };
}

/** The unfiltered list's total, and each service's and service+environment's, match the table. */
async function expectExactTotals(t: TestApp, services: string[], environments: string[]) {
  const all = await totals(t);
  expect(all.listed).toBe(all.counted);
  for (const service of services) {
    const one = await totals(t, { service });
    expect(one.listed).toBe(one.counted);
    for (const environment of environments) {
      const pair = await totals(t, { service, environment });
      expect(pair.listed).toBe(pair.counted);
    }
  }
  return all.counted;
}

describe('List totals stay exact (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('should count every deployment created at once across several services, and none refused', async () => {
    const services = Array.from({ length: 4 }, () => uniqueService('total'));
    const environments = ['staging', 'production'];
    // Each service and environment asked twice at once: one of each pair may be refused with 409.
    const requests = services.flatMap((service) =>
      environments.flatMap((environment) =>
        [1, 2].map((n) => requestDeployment(t, { service, version: `1.${n}`, environment })),
      ),
    );
    const answers = await Promise.all(requests);
    const created = answers.filter((r) => r.status === 201);
    expect(answers.filter((r) => r.status !== 201).every((r) => r.status === 409)).toBe(true);
    expect(created.length).toBeGreaterThanOrEqual(services.length * environments.length);
    await Promise.all(created.map((r) => waitForOperation(t, r.body.operation_id)));

    const total = await expectExactTotals(t, services, environments);
    expect(total).toBeGreaterThanOrEqual(created.length);
    const mine = await Promise.all(services.map((service) => totals(t, { service })));
    expect(mine.reduce((n, s) => n + s.listed, 0)).toBe(created.length);
  });

  it('should leave the total as it was after a refused create (409 and 400)', async () => {
    const service = uniqueService('refused');
    const first = await requestDeployment(t, { service, version: '1' });
    expect(first.status).toBe(201);
    const before = await totals(t);

    const running = await requestDeployment(t, { service, version: '2' });
    expect(running.status).toBe(409);
    const invalid = await t
      .http()
      .post('/api/v1/deployments')
      .set(bearer(ADMIN_KEY))
      .send({ service, version: '3', environment: 'Not An Env!' });
    expect(invalid.status).toBe(400);

    expect(await totals(t)).toEqual(before);
    expect(await totals(t, { service })).toEqual({ listed: 1, counted: 1 });
    await waitForOperation(t, first.body.operation_id);
  });

  it("should count a rollback's new deployment", async () => {
    const service = uniqueService('rolled');
    await deployAndWait(t, { service, version: '1' });
    const v2 = await deployAndWait(t, { service, version: '2' });
    const res = await t
      .http()
      .post(`/api/v1/deployments/${v2.id}/rollback`)
      .set(bearer(ADMIN_KEY))
      .send({});
    expect(res.status).toBe(202);
    await waitForOperation(t, res.body.operation_id);

    expect(await totals(t, { service })).toEqual({ listed: 3, counted: 3 });
    await expectExactTotals(t, [service], ['staging']);
  });
});

describe('List totals of deployments made before the upgrade (e2e)', () => {
  it('should count the deployments already there when the upgrade adds the kept counts', async () => {
    const database = await createTestDatabase();
    // The schema as it was before the counts were kept, with deployments in it.
    const config = AppConfig.fromEnvironment({ DATABASE_URL: database.url });
    const before = new DataSource({
      ...(typeOrmOptions(config) as DataSourceOptions),
      // Without the counts, nor the table that took them over (it counts the deployments there too).
      migrations: MIGRATIONS.filter(
        (m) => m !== DeploymentCounts1764000000007 && m !== ServiceEnvironments1764000000010,
      ),
      entities: [Deployment],
    });
    await before.initialize();
    const services = [uniqueService('old'), uniqueService('old')];
    const rows = services.flatMap((service, s) =>
      Array.from({ length: 3 + s }, (_, i) =>
        deploymentRow({ service, environment: i % 2 ? 'production' : 'staging' }),
      ),
    );
    await before.getRepository(Deployment).insert(rows);
    await before.destroy();

    const t = await startTestApp({}, database);
    try {
      expect(await expectExactTotals(t, services, ['staging', 'production'])).toBe(7);
      const created = await requestDeployment(t, { service: services[0], version: '2' });
      expect(created.status).toBe(201);
      await waitForOperation(t, created.body.operation_id);
      expect(await expectExactTotals(t, services, ['staging', 'production'])).toBe(8);
    } finally {
      await t.close();
    }
  });
});
