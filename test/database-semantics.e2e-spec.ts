import { Database, NestedTransactionError } from '../src/database/database';
import { DeploymentsRepository } from '../src/deployments/deployments.repository';
import { deploymentRow } from './factories/deployments';
import { openTransaction } from './helpers/open-transaction';
import { ADMIN_KEY, bearer, startTestApp, TestApp } from './helpers/test-app';

/** The same on SQLite and PostgreSQL: what a read sees, and transactions inside transactions. */
describe('Database semantics (e2e)', () => {
  let t: TestApp;
  let db: Database;
  let deployments: DeploymentsRepository;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(Database);
    deployments = t.app.get(DeploymentsRepository);
  });

  afterAll(async () => {
    await t?.close();
  });

  const getDeployment = (id: string) =>
    t.http().get(`/api/v1/deployments/${id}`).set(bearer(ADMIN_KEY));
  const listService = (service: string) =>
    t.http().get(`/api/v1/deployments?service=${service}`).set(bearer(ADMIN_KEY));

  it('should not show a deployment to a read while the transaction writing it is still open, and show it once it commits', async () => {
    const row = deploymentRow();
    const writing = openTransaction(db, () => deployments.insert(row));
    await writing.written;

    const byId = await getDeployment(row.id);
    const listed = await listService(row.service);
    const read = await deployments.findById(row.id);
    await writing.end('commit');

    expect(byId.status).toBe(404);
    expect(listed.body).toMatchObject({ deployments: [], total: 0 });
    expect(read).toBeNull();
    expect((await getDeployment(row.id)).body).toMatchObject({ id: row.id, status: 'successful' });
    expect((await listService(row.service)).body).toMatchObject({ total: 1 });
  });

  it('should never show a write that was rolled back', async () => {
    const row = deploymentRow();
    const writing = openTransaction(db, () => deployments.insert(row));
    await writing.written;

    const during = await getDeployment(row.id);
    const outcome = await writing.end('rollback');

    expect(during.status).toBe(404);
    expect(outcome).toEqual(new Error('rolled back on purpose'));
    expect((await getDeployment(row.id)).status).toBe(404);
  });

  it('should let a transaction read its own writes before they commit', async () => {
    const row = deploymentRow();

    const seen = await db.transaction(async () => {
      await deployments.insert(row);
      return deployments.findById(row.id);
    });

    expect(seen).toStrictEqual(row);
  });

  it('should refuse a transaction opened inside another at once, and commit the outer one', async () => {
    const row = deploymentRow();

    const nested = await db.transaction(async () => {
      await deployments.insert(row);
      return db.transaction(() => deployments.findById(row.id)).catch((error: unknown) => error);
    });

    expect(nested).toBeInstanceOf(NestedTransactionError);
    expect((nested as Error).message).toMatch(/called inside a transaction/);
    expect(await deployments.findById(row.id)).toStrictEqual(row);
  });

  it('should refuse a write outside a transaction, and change nothing', async () => {
    const row = deploymentRow();

    await expect(deployments.insert(row)).rejects.toThrow('writes run inside Database.transaction');

    expect(await deployments.findById(row.id)).toBeNull();
  });
});
