import { randomBytes, randomUUID } from 'node:crypto';
import { NEWEST_FIRST } from '../src/common/pagination';
import { Database, isUniqueViolation } from '../src/database/database';
import { EntityTable, Where } from '../src/database/entity-table';
import { Deployment, DeploymentStatus } from '../src/deployments/deployment.entity';
import { Operation, OperationStatus } from '../src/operations/operation.entity';
import { deploymentRow } from './factories/deployments';
import { startTestApp, TestApp } from './helpers/test-app';
import { createTestDatabase } from './helpers/test-database';

const OLDEST_FIRST: Array<['createdAt' | 'id', 'ASC']> = [
  ['createdAt', 'ASC'],
  ['id', 'ASC'],
];

/**
 * A time `seconds` after 2100-01-01, as the app stores it. Rows are created "in the future" so the
 * runner's recovery sweep (pending or running rows older than the lease) never touches them.
 */
const at = (seconds: number): string =>
  new Date(Date.UTC(2100, 0, 1) + seconds * 1000).toISOString();

/** A scope (environment) no other test uses, so each test sees only its own rows. */
const uniqueScope = (): string => `et-${randomBytes(6).toString('hex')}`;

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

type Keyed = { createdAt: string; id: string };

const newestFirst = (a: Keyed, b: Keyed): number =>
  compare(b.createdAt, a.createdAt) || compare(b.id, a.id);

const ids = (rows: Keyed[]): string[] => rows.map((row) => row.id);

const sortedIds = (rows: Keyed[]): string[] => ids(rows).sort();

/** A complete operation row: every column set, nullable ones null unless overridden. */
function operation(overrides: Partial<Operation> = {}): Operation {
  return Object.assign(new Operation(), {
    id: randomUUID(),
    type: 'test.entity-table',
    status: OperationStatus.Succeeded,
    progress: 100,
    targetType: 'deployment',
    targetId: randomUUID(),
    scope: 'unscoped',
    message: null,
    errorCode: null,
    errorMessage: null,
    result: null,
    cancelRequested: false,
    held: false,
    runnerId: null,
    heartbeatAt: null,
    createdAt: at(0),
    startedAt: null,
    updatedAt: at(0),
    finishedAt: null,
    ...overrides,
  });
}

const deployment = (overrides: Partial<Deployment> = {}): Deployment =>
  deploymentRow({ createdAt: at(0), ...overrides });

describe('EntityTable (e2e)', () => {
  let t: TestApp;
  let db: Database;
  let operations: EntityTable<Operation>;
  let deployments: EntityTable<Deployment>;

  beforeAll(async () => {
    t = await startTestApp({}, await createTestDatabase());
    db = t.app.get(Database);
    operations = db.table(Operation);
    deployments = db.table(Deployment);
  });

  afterAll(async () => {
    await t?.close();
  });

  const insertOperations = (rows: Array<Partial<Operation>>): Promise<void> =>
    db.transaction(async () => {
      for (const row of rows) await operations.insert(row);
    });

  /** `count` rows of one scope, three to a `createdAt`, inserted oldest first; and their list order. */
  async function seedList(count: number): Promise<{ scope: string; expected: Operation[] }> {
    const scope = uniqueScope();
    const rows = Array.from({ length: count }, (_, i) =>
      operation({ scope, createdAt: at(Math.floor(i / 3)), progress: i }),
    );
    await insertOperations(rows);
    return { scope, expected: [...rows].sort(newestFirst) };
  }

  describe('insert and findOne', () => {
    it('should round-trip every column: text, integers, simple-json, booleans and nulls', async () => {
      const scope = uniqueScope();
      const full = operation({
        scope,
        status: OperationStatus.Failed,
        progress: 42,
        message: 'Rolling out 3 replicas',
        errorCode: 'driver_failed',
        errorMessage: 'the driver said "no" \u2014 twice',
        result: {
          deployment_id: randomUUID(),
          replicas: 3,
          healthy: true,
          drained: false,
          note: null,
        },
        cancelRequested: true,
        runnerId: 'runner-1',
        heartbeatAt: at(5),
        startedAt: at(1),
        updatedAt: at(6),
        finishedAt: at(7),
      });
      const empty = operation({ scope, progress: 0, result: {}, cancelRequested: false });
      const nulls = operation({ scope });
      // Left out: the database's defaults fill them in.
      const defaults: Partial<Operation> = operation({ scope });
      delete defaults.progress;
      delete defaults.cancelRequested;

      const seenInside = await db.transaction(async () => {
        for (const row of [full, empty, nulls, defaults]) await operations.insert(row);
        return operations.findOne({ id: full.id });
      });

      expect(seenInside).toStrictEqual(full);
      expect(await operations.findOne({ id: full.id })).toStrictEqual(full);
      expect(await operations.findOne({ id: empty.id })).toStrictEqual(empty);
      expect(await operations.findOne({ id: nulls.id })).toStrictEqual(nulls);
      expect(await operations.findOne({ id: defaults.id })).toStrictEqual(
        Object.assign(new Operation(), { ...defaults, progress: 0, cancelRequested: false }),
      );
      // Stored as TypeORM itself stores them: its repository reads the same values back.
      const repository = t.dataSource.getRepository(Operation);
      expect(await repository.findOneBy({ id: full.id })).toStrictEqual(full);
      expect(await repository.findOneBy({ id: empty.id })).toStrictEqual(empty);
    });

    it('should read rows written by TypeORM exactly as its repository does', async () => {
      const row = operation({
        scope: uniqueScope(),
        result: { version: '7', ok: true },
        cancelRequested: true,
        runnerId: 'runner-2',
      });
      await db.transaction(() => t.dataSource.getRepository(Operation).insert(row));

      expect(await operations.findOne({ id: row.id })).toStrictEqual(row);
    });

    it('should round-trip a deployment, with and without the nullable columns', async () => {
      const first = deployment({ description: null, rollbackOf: null });
      const rollback = deployment({
        service: first.service,
        status: DeploymentStatus.RolledBack,
        description: 'roll back to 1.0.0',
        createdAt: at(10),
        startedAt: at(11),
        finishedAt: at(12),
        rollbackOf: first.id,
      });
      await db.transaction(async () => {
        await deployments.insert(first);
        await deployments.insert(rollback);
      });

      expect(await deployments.findOne({ id: first.id })).toStrictEqual(first);
      expect(await deployments.findOne({ id: rollback.id })).toStrictEqual(rollback);
      expect(await deployments.findOne({ service: first.service, rollbackOf: null })).toStrictEqual(
        first,
      );
    });

    it('should still read after a migration changed the type of a column it reads', async () => {
      const row = operation({ scope: uniqueScope(), message: 'before the change' });
      await insertOperations([row]);
      expect(await operations.findOne({ id: row.id })).toStrictEqual(row); // prepared now

      const type = t.dataSource.options.type === 'postgres' ? 'varchar(2000)' : undefined;
      if (type)
        await t.dataSource.query(`ALTER TABLE operations ALTER COLUMN message TYPE ${type}`);

      expect(await operations.findOne({ id: row.id })).toStrictEqual(row);
      expect(await operations.find({ where: { scope: row.scope } })).toStrictEqual([row]);
      expect(await db.transaction(() => operations.findOne({ id: row.id }))).toStrictEqual(row);
    });

    it('should answer null for an id that is not there', async () => {
      await insertOperations([operation({ scope: uniqueScope() })]);

      expect(await operations.findOne({ id: randomUUID() })).toBeNull();
      expect(await deployments.findOne({ id: randomUUID() })).toBeNull();
    });

    it('should give each of many reads by id at once its own row, or null, in one statement on PostgreSQL', async () => {
      const rows = Array.from({ length: 12 }, (_, i) =>
        operation({ scope: uniqueScope(), progress: i, message: `row ${i}` }),
      );
      await insertOperations(rows);
      const missing = randomUUID();
      const asked = [...rows, ...rows].map((row) => row.id); // each twice
      asked.splice(5, 0, missing);
      // The statements that reach the database (SQLite has no round trip to share).
      const statements = jest.spyOn(db, 'read');

      const answers = await Promise.all(asked.map((id) => operations.findOne({ id })));

      expect(answers).toStrictEqual(
        asked.map((id) => (id === missing ? null : rows.find((row) => row.id === id))),
      );
      expect(statements).toHaveBeenCalledTimes(db.dialect === 'postgres' ? 1 : asked.length);
      statements.mockRestore();
      // Each caller gets its own entity: changing one changes no other answer.
      answers[0]!.message = 'changed by its reader';
      expect(answers[13]).toStrictEqual(rows[0]);
    });

    it('should read by id what was committed before it was asked, while other reads are on their way', async () => {
      const [a, b, c] = [1, 2, 3].map(() => operation({ scope: uniqueScope() }));
      await insertOperations([a, b, c]);

      const first = operations.findOne({ id: a.id });
      await new Promise((resolve) => setImmediate(resolve)); // the first read has left
      const second = operations.findOne({ id: b.id });
      const changed = db
        .transaction(() => operations.update({ id: c.id }, { message: 'changed' }))
        .then(() => operations.findOne({ id: c.id }));

      expect(await Promise.all([first, second, changed])).toStrictEqual([
        a,
        b,
        Object.assign(new Operation(), c, { message: 'changed' }),
      ]);
    });

    it("should let a transaction read its own rows before they are committed, and no one else's after a rollback", async () => {
      const row = operation({ scope: uniqueScope() });
      let seenInside: Operation[] = [];

      await expect(
        db.transaction(async () => {
          await operations.insert(row);
          seenInside = await operations.find({ where: { scope: row.scope } });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');

      expect(seenInside).toStrictEqual([row]);
      expect(await operations.find({ where: { scope: row.scope } })).toStrictEqual([]);
    });

    it('should leave nothing behind when the transaction rolls back', async () => {
      const row = operation({ scope: uniqueScope() });

      await expect(
        db.transaction(async () => {
          await operations.insert(row);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');

      expect(await operations.findOne({ id: row.id })).toBeNull();
    });
  });

  describe('where', () => {
    const scope = uniqueScope();
    const rows = {
      idle: operation({ scope, status: OperationStatus.Succeeded, runnerId: null }),
      a: operation({ scope, status: OperationStatus.Failed, runnerId: 'runner-a' }),
      b: operation({ scope, status: OperationStatus.Cancelled, runnerId: 'runner-b' }),
      lost: operation({ scope, status: OperationStatus.Failed, runnerId: null }),
      asked: operation({ scope, status: OperationStatus.Cancelled, cancelRequested: true }),
    };
    const found = async (where: Where<Operation>): Promise<string[]> =>
      sortedIds(await operations.find({ where: { scope, ...where } }));
    const expected = (...names: Array<keyof typeof rows>): string[] =>
      sortedIds(names.map((name) => rows[name]));

    beforeAll(() => insertOperations(Object.values(rows)));

    it('should match IS NULL for null and equality for a value', async () => {
      expect(await found({ runnerId: null })).toEqual(expected('idle', 'lost', 'asked'));
      expect(await found({ runnerId: 'runner-a' })).toEqual(expected('a'));
      // The same shape of query again, with another value.
      expect(await found({ runnerId: 'runner-b' })).toEqual(expected('b'));
      expect(await found({ runnerId: 'runner-c' })).toEqual([]);
      expect(await found({ status: OperationStatus.Failed, runnerId: null })).toEqual(
        expected('lost'),
      );
    });

    it('should match booleans both ways', async () => {
      expect(await found({ cancelRequested: true })).toEqual(expected('asked'));
      expect(await found({ cancelRequested: false })).toEqual(expected('idle', 'a', 'b', 'lost'));
    });

    it('should match any value of an array (IN), and nothing for an empty one', async () => {
      expect(await found({ status: [OperationStatus.Failed] })).toEqual(expected('a', 'lost'));
      expect(await found({ status: [OperationStatus.Failed, OperationStatus.Cancelled] })).toEqual(
        expected('a', 'b', 'lost', 'asked'),
      );
      expect(await found({ status: [OperationStatus.Pending, OperationStatus.Running] })).toEqual(
        [],
      );
      expect(await found({ status: [] })).toEqual([]);
      expect(await found({ status: [], runnerId: null })).toEqual([]);
      expect(await operations.findOne({ id: rows.a.id, status: [] })).toBeNull();
      expect(
        await found({ runnerId: ['runner-a', 'runner-b'], status: [OperationStatus.Cancelled] }),
      ).toEqual(expected('b'));
    });

    it('should ignore keys whose value is undefined in a list filter, and refuse them for one row', async () => {
      expect(await found({ runnerId: undefined })).toEqual(
        expected('idle', 'a', 'b', 'lost', 'asked'),
      );
      expect(await found({ runnerId: undefined, status: OperationStatus.Failed })).toEqual(
        expected('a', 'lost'),
      );
      await expect(operations.findOne({ id: rows.b.id, runnerId: undefined })).rejects.toThrow(
        'Operation: a condition is required',
      );
    });
  });

  describe('find: order, limit and offset', () => {
    it('should list rows newest first, ties in createdAt broken by id', async () => {
      const { scope, expected } = await seedList(10);

      const all = await operations.find({ where: { scope }, order: NEWEST_FIRST });

      expect(all).toStrictEqual(expected);
      const oldest = await operations.find({ where: { scope }, order: OLDEST_FIRST });
      expect(ids(oldest)).toEqual(ids(expected).reverse());
    });

    it('should cut the list into pages that together are the whole list, in order', async () => {
      const { scope, expected } = await seedList(13);

      for (const perPage of [1, 2, 3, 4, 5, 13, 20]) {
        const pages: Operation[][] = [];
        const lastPage = Math.ceil(expected.length / perPage);
        for (let page = 1; page <= lastPage + 1; page++) {
          const offset = (page - 1) * perPage;
          const rows = await operations.find({
            where: { scope },
            order: NEWEST_FIRST,
            limit: perPage,
            offset,
          });
          // Every column comes back on deep pages too (they read the rows by id).
          expect(rows).toStrictEqual(expected.slice(offset, offset + perPage));
          pages.push(rows);
        }
        expect(pages[lastPage]).toEqual([]);
        expect(ids(pages.flat())).toEqual(ids(expected));
      }
    });

    it('should answer as many rows as each limit asks, whatever limits came before', async () => {
      const { scope, expected } = await seedList(7);
      for (const limit of [3, 1, 7, 0, 3, 100, 2]) {
        const page = await operations.find({ where: { scope }, order: NEWEST_FIRST, limit });
        expect(ids(page)).toStrictEqual(ids(expected.slice(0, limit)));
      }
    });

    it('should page oldest first too, and without a where', async () => {
      const { scope, expected } = await seedList(7);
      const oldest = [...expected].reverse();

      const page = await operations.find({
        where: { scope },
        order: OLDEST_FIRST,
        limit: 3,
        offset: 2,
      });
      expect(ids(page)).toEqual(ids(oldest.slice(2, 5)));

      const everything = await operations.find({ order: NEWEST_FIRST });
      const deep = await operations.find({ order: NEWEST_FIRST, limit: 5, offset: 3 });
      expect(ids(deep)).toEqual(ids(everything.slice(3, 8)));
    });
  });

  describe('find after (keyset)', () => {
    it('should give exactly the rows that follow the given row', async () => {
      const { scope, expected } = await seedList(11);

      for (const [i, row] of expected.entries()) {
        const after = [row.createdAt, row.id];
        const rest = await operations.find({ where: { scope }, order: NEWEST_FIRST, after });
        expect(ids(rest)).toEqual(ids(expected.slice(i + 1)));

        const next = await operations.find({
          where: { scope },
          order: NEWEST_FIRST,
          after,
          limit: 3,
        });
        expect(next).toStrictEqual(expected.slice(i + 1, i + 4));

        const skipped = await operations.find({
          where: { scope },
          order: NEWEST_FIRST,
          after,
          limit: 3,
          offset: 2,
        });
        expect(ids(skipped)).toEqual(ids(expected.slice(i + 3, i + 6)));
      }
    });

    it('should walk the whole list page by page, without duplicates or gaps', async () => {
      const { scope, expected } = await seedList(14);

      for (const [order, list] of [
        [NEWEST_FIRST, expected],
        [OLDEST_FIRST, [...expected].reverse()],
      ] as const) {
        for (const limit of [1, 3, 5, 14]) {
          const walked: Operation[] = [];
          let after: unknown[] | undefined;
          for (let pages = 0; pages <= list.length; pages++) {
            const page = await operations.find({ where: { scope }, order, after, limit });
            walked.push(...page);
            if (page.length < limit) break;
            const last = page[page.length - 1];
            after = [last.createdAt, last.id];
          }
          expect(ids(walked)).toEqual(ids(list));
          expect(new Set(ids(walked)).size).toBe(list.length);
        }
      }
    });

    it('should refuse an after that does not match the order', async () => {
      const { scope, expected } = await seedList(3);
      const row = expected[0];

      await expect(
        operations.find({ where: { scope }, order: NEWEST_FIRST, after: [row.createdAt] }),
      ).rejects.toThrow('after takes one value per order column');
      await expect(
        operations.find({
          where: { scope },
          order: NEWEST_FIRST,
          after: [row.createdAt, row.id, row.id],
        }),
      ).rejects.toThrow('after takes one value per order column');
      await expect(
        operations.find({ where: { scope }, after: [row.createdAt, row.id] }),
      ).rejects.toThrow('after takes one value per order column');
      await expect(
        operations.find({
          where: { scope },
          order: [
            ['createdAt', 'DESC'],
            ['id', 'ASC'],
          ],
          after: [row.createdAt, row.id],
        }),
      ).rejects.toThrow('all ordered the same way');
    });
  });

  describe('count', () => {
    it('should count what find returns, filters and all', async () => {
      const scope = uniqueScope();
      const rows = [
        operation({ scope, status: OperationStatus.Failed, runnerId: 'runner-a' }),
        operation({ scope, status: OperationStatus.Failed, runnerId: null }),
        operation({ scope, status: OperationStatus.Cancelled, cancelRequested: true }),
        operation({ scope, status: OperationStatus.Succeeded }),
        operation({ scope, status: OperationStatus.Succeeded }),
        operation({ scope, status: OperationStatus.Succeeded, runnerId: 'runner-a' }),
      ];
      await insertOperations(rows);

      const cases: Array<[Where<Operation>, number]> = [
        [{ scope }, 6],
        [{ scope, runnerId: null }, 4],
        [{ scope, runnerId: 'runner-a' }, 2],
        [{ scope, status: OperationStatus.Succeeded }, 3],
        [{ scope, status: [OperationStatus.Failed, OperationStatus.Cancelled] }, 3],
        [{ scope, status: [] }, 0],
        [{ scope, cancelRequested: true }, 1],
        [{ scope, status: OperationStatus.Failed, runnerId: null }, 1],
        [{ scope, runnerId: undefined }, 6],
        [{ scope: uniqueScope() }, 0],
      ];
      for (const [where, n] of cases) {
        expect({ where, count: await operations.count(where) }).toEqual({ where, count: n });
        expect((await operations.find({ where })).length).toBe(n);
      }
      expect(await operations.count()).toBe((await operations.find({})).length);
    });

    it('should give a page and the count of all its matches in one read', async () => {
      const { scope, expected } = await seedList(13);

      for (const limit of [1, 4, 13, 20]) {
        for (const offset of [0, 3, 12, 13, 40]) {
          const page = await operations.findPage({
            where: { scope },
            order: NEWEST_FIRST,
            limit,
            offset,
          });
          // The same rows as find, every column; the total whatever the page.
          expect({ limit, offset, ...page }).toStrictEqual({
            limit,
            offset,
            rows: expected.slice(offset, offset + limit),
            total: 13,
          });
        }
      }
      const failed = { scope, status: [OperationStatus.Failed, OperationStatus.Cancelled] };
      await insertOperations([operation({ scope, status: OperationStatus.Failed })]);
      for (const where of [failed, { scope, status: [] }, { scope: uniqueScope() }]) {
        const page = await operations.findPage({ where, order: NEWEST_FIRST, limit: 5 });
        expect({ where, total: page.total, rows: page.rows.length }).toEqual({
          where,
          total: await operations.count(where),
          rows: Math.min(5, await operations.count(where)),
        });
      }
    });

    it('should not count a page that continues after a row', async () => {
      const { scope, expected } = await seedList(5);
      const after = [expected[1].createdAt, expected[1].id];

      const page = await operations.findPage({ where: { scope }, order: NEWEST_FIRST, after });

      expect(page).toStrictEqual({ rows: expected.slice(2) });
    });

    it('should count deployments too', async () => {
      const service = `svc-${randomBytes(4).toString('hex')}`;
      const first = deployment({ service });
      await db.transaction(async () => {
        await deployments.insert(first);
        await deployments.insert(deployment({ service, rollbackOf: first.id }));
        await deployments.insert(deployment({ service, environment: 'production' }));
      });

      expect(await deployments.count({ service })).toBe(3);
      expect(await deployments.count({ service, environment: 'staging' })).toBe(2);
      expect(await deployments.count({ service, rollbackOf: null })).toBe(2);
      expect(await deployments.count({ service, rollbackOf: first.id })).toBe(1);
    });
  });

  describe('update', () => {
    const running = (scope: string): Operation =>
      operation({
        scope,
        status: OperationStatus.Running,
        progress: 30,
        message: 'halfway',
        runnerId: 'runner-a',
        heartbeatAt: at(2),
        startedAt: at(1),
      });

    const update = (
      where: Where<Operation>,
      changes: Partial<Operation>,
    ): Promise<{ changed: number; seen: Operation | null }> =>
      db.transaction(async () => {
        const returned = await operations.update(where, changes);
        // Only the id: `where` may have changed with the row.
        const id = typeof where.id === 'string' ? where.id : undefined;
        const seen = id ? await operations.findOne({ id }) : null;
        // What update answers is each changed row as it is now (none when nothing matched).
        if (seen) expect(returned).toStrictEqual(returned.length > 0 ? [seen] : []);
        return { changed: returned.length, seen };
      });

    it('should change nothing, and say 0, when where matches no row', async () => {
      const scope = uniqueScope();
      const op = running(scope);
      const pending = operation({ scope, status: OperationStatus.Pending });
      await insertOperations([op, pending]);
      const changes = { status: OperationStatus.Failed, runnerId: null };

      for (const where of [
        { id: op.id, status: [OperationStatus.Pending] },
        { id: op.id, status: [] },
        { id: op.id, runnerId: null },
        { id: op.id, runnerId: 'runner-b' },
        { id: op.id, heartbeatAt: at(1) },
        { id: pending.id, runnerId: 'runner-a' },
        { id: randomUUID() },
      ] satisfies Array<Where<Operation>>) {
        expect((await update(where, changes)).changed).toBe(0);
      }

      expect(await operations.findOne({ id: op.id })).toStrictEqual(op);
      expect(await operations.findOne({ id: pending.id })).toStrictEqual(pending);
    });

    it('should change only the given columns of the matching row, and say 1', async () => {
      const scope = uniqueScope();
      const op = running(scope);
      const other = running(scope);
      await insertOperations([op, other]);
      const result = { deployment_id: randomUUID(), replicas: 2, healthy: true, note: null };

      const { changed, seen } = await update(
        {
          id: op.id,
          status: [OperationStatus.Pending, OperationStatus.Running],
          runnerId: 'runner-a',
          heartbeatAt: at(2),
        },
        {
          status: OperationStatus.Succeeded,
          progress: 100,
          result,
          cancelRequested: true,
          finishedAt: at(3),
          message: undefined,
        },
      );

      const after = Object.assign(new Operation(), {
        ...op,
        status: OperationStatus.Succeeded,
        progress: 100,
        result,
        cancelRequested: true,
        finishedAt: at(3),
      });
      expect(changed).toBe(1);
      expect(seen).toStrictEqual(after);
      expect(await operations.findOne({ id: op.id })).toStrictEqual(after);
      expect(await t.dataSource.getRepository(Operation).findOneBy({ id: op.id })).toStrictEqual(
        after,
      );
      expect(await operations.findOne({ id: other.id })).toStrictEqual(other);
    });

    it('should write nulls and false, and match on null after it', async () => {
      const scope = uniqueScope();
      const op = running(scope);
      op.cancelRequested = true;
      op.result = { step: 'drain' };
      await insertOperations([op]);

      const { changed, seen } = await update(
        { id: op.id },
        { result: null, cancelRequested: false, runnerId: null, heartbeatAt: null },
      );

      const after = Object.assign(new Operation(), {
        ...op,
        result: null,
        cancelRequested: false,
        runnerId: null,
        heartbeatAt: null,
      });
      expect(changed).toBe(1);
      expect(seen).toStrictEqual(after);
      expect(await operations.count({ id: op.id, cancelRequested: false, runnerId: null })).toBe(1);
      expect((await update({ id: op.id, runnerId: null }, { message: 'reset' })).changed).toBe(1);
      expect((await update({ id: op.id, runnerId: 'runner-a' }, { message: 'no' })).changed).toBe(
        0,
      );
      expect((await operations.findOne({ id: op.id }))?.message).toBe('reset');
    });

    it('should say how many rows it changed when several match', async () => {
      const scope = uniqueScope();
      const rows = [
        running(scope),
        running(scope),
        operation({ scope, status: OperationStatus.Pending }),
        operation({ scope, status: OperationStatus.Succeeded }),
      ];
      await insertOperations(rows);

      const stop = { status: [OperationStatus.Pending, OperationStatus.Running] };
      expect(
        (await update({ scope, ...stop }, { status: OperationStatus.Cancelled })).changed,
      ).toBe(3);
      expect((await update({ scope, ...stop }, { status: OperationStatus.Failed })).changed).toBe(
        0,
      );
      expect(await operations.count({ scope, status: OperationStatus.Cancelled })).toBe(3);
      expect(await operations.count({ scope, status: OperationStatus.Succeeded })).toBe(1);
      expect((await update({ scope }, { message: 'swept' })).changed).toBe(4);
    });

    it('should update a deployment by its nullable columns', async () => {
      const first = deployment();
      const rollback = deployment({ service: first.service, rollbackOf: first.id });
      await db.transaction(async () => {
        await deployments.insert(first);
        await deployments.insert(rollback);
      });

      const changed = await db.transaction(() =>
        deployments.update(
          { service: first.service, rollbackOf: null },
          { status: DeploymentStatus.RolledBack, description: 'rolled back', finishedAt: at(9) },
        ),
      );

      expect(changed).toHaveLength(1);
      expect(await deployments.findOne({ id: first.id })).toStrictEqual(
        Object.assign(new Deployment(), {
          ...first,
          status: DeploymentStatus.RolledBack,
          description: 'rolled back',
          finishedAt: at(9),
        }),
      );
      expect(await deployments.findOne({ id: rollback.id })).toStrictEqual(rollback);
    });

    it('should refuse to write outside a transaction', async () => {
      const op = operation({ scope: uniqueScope() });
      await insertOperations([op]);
      const loose = operation({ scope: op.scope });

      await expect(operations.insert(loose)).rejects.toThrow(
        'writes run inside Database.transaction',
      );
      await expect(operations.update({ id: op.id }, { message: 'outside' })).rejects.toThrow(
        'writes run inside Database.transaction',
      );

      expect(await operations.findOne({ id: loose.id })).toBeNull();
      expect(await operations.findOne({ id: op.id })).toStrictEqual(op);
    });

    it('should commit transactions that run at the same time each on its own: a failing one undoes only its own writes', async () => {
      const scope = uniqueScope();
      const rows = Array.from({ length: 6 }, () => operation({ scope }));
      const duplicate = operation({ scope, id: rows[0].id });

      const outcomes = await Promise.allSettled([
        ...rows.map((row) => db.transaction(() => operations.insert(row))),
        db.transaction(async () => {
          await operations.insert(operation({ scope, message: 'undone' }));
          throw new Error('changed my mind');
        }),
        db.transaction(() => operations.insert(duplicate)),
        db.transaction(async () => {
          await operations.insert(operation({ scope, message: 'kept' }));
          return 'answered';
        }),
      ]);

      expect(outcomes.slice(0, 6).map((o) => o.status)).toEqual(Array(6).fill('fulfilled'));
      expect(outcomes[6]).toMatchObject({
        status: 'rejected',
        reason: { message: 'changed my mind' },
      });
      expect(outcomes[7].status).toBe('rejected');
      expect(isUniqueViolation((outcomes[7] as PromiseRejectedResult).reason)).toBe(true);
      expect(outcomes[8]).toEqual({ status: 'fulfilled', value: 'answered' });
      const stored = await operations.find({ where: { scope } });
      expect(sortedIds(stored)).toEqual(
        sortedIds([...rows, stored.find((r) => r.message === 'kept')!]),
      );
      expect(stored.filter((r) => r.message === 'undone')).toEqual([]);
    });

    it('should undo only a failed savepoint, and keep the rest of its transaction', async () => {
      const scope = uniqueScope();
      const kept = operation({ scope });
      const undone = operation({ scope });
      const alsoKept = operation({ scope });

      const outcomes = await db.transaction(async () => {
        await operations.insert(kept);
        const failed = await db.savepoint(async () => {
          await operations.insert(undone);
          await operations.insert({ ...kept }); // the same id again: refused
        });
        const succeeded = await db.savepoint(() => operations.insert(alsoKept));
        return { failed: failed.ok, succeeded: succeeded.ok };
      });

      expect(outcomes).toEqual({ failed: false, succeeded: true });
      expect(await operations.findOne({ id: kept.id })).toStrictEqual(kept);
      expect(await operations.findOne({ id: undone.id })).toBeNull();
      expect(await operations.findOne({ id: alsoKept.id })).toStrictEqual(alsoKept);
    });

    it('should refuse a query that would say nothing or everything, and change nothing', async () => {
      const op = operation({ scope: uniqueScope() });
      await insertOperations([op]);

      await expect(
        db.transaction(() => operations.update({ id: undefined }, { message: 'all' })),
      ).rejects.toThrow('Operation: a condition is required');
      await expect(db.transaction(() => operations.update({ id: op.id }, {}))).rejects.toThrow(
        'Operation: an update needs a change',
      );
      await expect(operations.findOne({ id: undefined })).rejects.toThrow(
        'Operation: a condition is required',
      );
      await expect(operations.find({ where: { scope: op.scope }, offset: 1 })).rejects.toThrow(
        'offset needs a limit',
      );
      await expect(operations.find({ where: { runnerId: [null, 'r'] } })).rejects.toThrow(
        'runnerId: IN cannot match null',
      );
      for (const limit of [1.5, -1, Number.NaN]) {
        await expect(operations.find({ where: { scope: op.scope }, limit })).rejects.toThrow(
          `limit must be a whole number, not ${limit}`,
        );
      }
      expect(await operations.findOne({ id: op.id })).toStrictEqual(op);
    });
  });
});
