// npm run bench:orm [-- --db sqlite,postgres] [-- --rows 100000] [-- --rounds 5] [-- --scale 1]
// Times the hot reads and a rollout's writes three ways, in one process, in turns:
//   (a) EntityTable as the service uses it (dist/database/entity-table.js),
//   (b) drizzle-orm with prepared statements (better-sqlite3 and node-postgres drivers),
//   (c) plain TypeORM Repository / QueryBuilder, the reference,
// on the service's own schema (its TypeORM migrations, its SQLite pragmas) seeded like `npm run
// bench`. Prints per-operation medians (µs of wall time) and Node CPU per operation, with ratios
// to (a). CPU is the whole process's (V8's GC and compiler threads too), averaged; PostgreSQL's own
// CPU is not counted. Decision record: docs/decisions/021-entity-table-vs-drizzle.md. Not a test.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { randomBytes } = require('node:crypto');
const { Client, Pool } = require('pg');
const SqliteDatabase = require('better-sqlite3');
const { DataSource, In } = require('typeorm');
const { v7: uuidv7 } = require('uuid');
const { and, desc, eq, getTableColumns, inArray, sql } = require('drizzle-orm');
const { drizzle: drizzleSqlite } = require('drizzle-orm/better-sqlite3');
const { drizzle: drizzlePg } = require('drizzle-orm/node-postgres');
const schemas = require('./drizzle-schema');
const { seedSqlite, seedPostgres } = require('./seed');

const DIST = join(__dirname, '..', 'dist');
const { EntityTable, MAX_POOL_CONNECTIONS } = require(join(DIST, 'database/entity-table'));
const { typeOrmOptions } = require(join(DIST, 'database/database.module'));
const { nowIso } = require(join(DIST, 'database/columns'));
const { Deployment } = require(join(DIST, 'deployments/deployment.entity'));
const { DeploymentEvent } = require(join(DIST, 'deployments/deployment-event.entity'));
const { Operation } = require(join(DIST, 'operations/operation.entity'));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const DATABASES = arg('db', 'sqlite,postgres').split(',');
const ROWS = Number(arg('rows', '100000'));
const ROUNDS = Number(arg('rounds', '5'));
const SCALE = Number(arg('scale', '1'));
const PG_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PAGE = 51; // a page of 50 and one more, which says whether another follows (ListPaging)
// ?page=500 (or halfway down a smaller table)
const DEEP_OFFSET = Math.min(499 * 50, Math.floor(ROWS / 100) * 50);
const ph = sql.placeholder;

// ---- (a) EntityTable, called as deployments.service.ts and operation.store.ts call it ----------

function entityTableVariant(ds) {
  const deployments = new EntityTable(ds, Deployment);
  const events = new EntityTable(ds, DeploymentEvent);
  const operations = new EntityTable(ds, Operation);
  const order = [
    ['createdAt', 'DESC'],
    ['id', 'DESC'],
  ];
  return {
    byId: (id) => deployments.findOne({ id }),
    list: (service, environment) =>
      deployments.findPage({ where: { service, environment }, order, limit: PAGE }),
    deep: () => deployments.findPage({ order, limit: PAGE, offset: DEEP_OFFSET }),
    previous: (of) =>
      deployments
        .find({
          where: { service: of.service, environment: of.environment, status: 'successful' },
          order,
          after: [of.createdAt, of.id],
          limit: 1,
        })
        .then(([row]) => row ?? null),
    rollout: (plan) =>
      rollout(plan, {
        transaction: (work) => ds.transaction(work),
        insertDeployment: (m, row) => deployments.insert(m, row),
        insertEvent: (m, row) => events.insert(m, row),
        insertOperation: (m, row) => operations.insert(m, row),
        updateOperation: (m, where, set) =>
          operations.update(m, where, set).then(([row]) => row ?? null),
        updateDeployment: (m, id, set) => deployments.update(m, { id }, set),
      }),
  };
}

// ---- (b) drizzle-orm, statements prepared once (named on PostgreSQL) ----------------------------

function drizzleVariant(kind, db, t) {
  const pg = kind === 'postgres';
  const D = t.deployments;
  const E = t.deploymentEvents;
  const O = t.operations;
  const name = (n) => (pg ? `trial_${n}` : undefined);
  // node-postgres answers `execute`; better-sqlite3 `get` (one row) / `all`.
  const many = (q) => (pg ? (v) => q.execute(v) : (v) => q.all(v));
  const one = (q) => (pg ? (v) => q.execute(v).then(([r]) => r ?? null) : (v) => q.get(v) ?? null);
  const newestFirst = [desc(D.createdAt), desc(D.id)];

  const byId = one(
    db
      .select()
      .from(D)
      .where(eq(D.id, ph('id')))
      .limit(1)
      .prepare(name('by_id')),
  );
  const listWhere = and(eq(D.service, ph('service')), eq(D.environment, ph('environment')));
  const list = many(
    db
      .select({ ...getTableColumns(D), total: db.$count(D, listWhere) })
      .from(D)
      .where(listWhere)
      .orderBy(...newestFirst)
      .limit(PAGE)
      .prepare(name('list')),
  );
  const deepIds = db
    .select({ id: D.id })
    .from(D)
    .orderBy(...newestFirst)
    .limit(ph('limit'))
    .offset(ph('offset'));
  const deep = many(
    db
      .select({ ...getTableColumns(D), total: db.$count(D) })
      .from(D)
      .where(inArray(D.id, deepIds))
      .orderBy(...newestFirst)
      .prepare(name('deep')),
  );
  const previous = one(
    db
      .select()
      .from(D)
      .where(
        and(
          eq(D.service, ph('service')),
          eq(D.environment, ph('environment')),
          eq(D.status, 'successful'),
          sql`(${D.createdAt}, ${D.id}) < (${ph('createdAt')}, ${ph('id')})`,
        ),
      )
      .orderBy(...newestFirst)
      .limit(1)
      .prepare(name('previous')),
  );
  const page = (rows) => ({ rows, total: rows.length ? Number(rows[0].total) : 0 });
  const variant = {
    byId: (id) => byId({ id }),
    list: async (service, environment) => page(await list({ service, environment })),
    deep: async () => page(await deep({ limit: PAGE, offset: DEEP_OFFSET })),
    previous: (of) => previous(of),
  };

  if (pg) {
    // A prepared statement belongs to the client it was prepared on (the pool): inside a
    // transaction drizzle builds each statement again, on the transaction's connection.
    variant.rollout = (plan) =>
      rollout(plan, {
        transaction: (work) => db.transaction(work),
        insertDeployment: (tx, row) => tx.insert(D).values(row),
        insertEvent: (tx, row) => tx.insert(E).values(row),
        insertOperation: (tx, row) => tx.insert(O).values(row),
        updateOperation: (tx, where, set) =>
          tx
            .update(O)
            .set(set)
            .where(
              and(
                ...Object.entries(where).map(([k, v]) =>
                  Array.isArray(v) ? inArray(O[k], v) : eq(O[k], v),
                ),
              ),
            )
            .returning()
            .then(([row]) => row ?? null),
        updateDeployment: (tx, id, set) => tx.update(D).set(set).where(eq(D.id, id)).returning(),
      });
    // EntityTable's per-turn batching of reads by id (docs/decisions/009), on top of drizzle.
    const byIds = db
      .select()
      .from(D)
      .where(sql`${D.id} = any(${ph('ids')})`)
      .prepare('trial_by_ids');
    variant.byIdBatched = perTurnBatch((ids) => byIds.execute({ ids }));
    return variant;
  }
  // SQLite: one connection, so statements prepared on it serve inside transactions too. drizzle's
  // own better-sqlite3 transactions are synchronous; the service's units of work await, so BEGIN
  // and COMMIT are statements of their own, as the group commit (docs/decisions/016) would need.
  const all = (table, except = []) =>
    Object.fromEntries(
      Object.keys(getTableColumns(table))
        .filter((k) => !except.includes(k))
        .map((k) => [k, ph(k)]),
    );
  const sets = (...keys) => Object.fromEntries(keys.map((k) => [k, ph(k)]));
  const insertDeployment = db.insert(D).values(all(D)).prepare();
  const insertEvent = db
    .insert(E)
    .values(all(E, ['id']))
    .prepare();
  const insertOperation = db.insert(O).values(all(O)).prepare();
  const claim = db
    .update(O)
    .set(sets('status', 'startedAt', 'runnerId', 'heartbeatAt', 'updatedAt'))
    .where(and(eq(O.id, ph('id')), inArray(O.status, [ph('from')])))
    .returning()
    .prepare();
  const finish = db
    .update(O)
    .set(sets('status', 'progress', 'result', 'message', 'finishedAt', 'updatedAt'))
    .where(and(eq(O.id, ph('id')), inArray(O.status, [ph('from')]), eq(O.runnerId, ph('runnerId'))))
    .returning()
    .prepare();
  const start = db
    .update(D)
    .set(sets('status', 'startedAt'))
    .where(eq(D.id, ph('id')))
    .returning()
    .prepare();
  const end = db
    .update(D)
    .set(sets('status', 'finishedAt'))
    .where(eq(D.id, ph('id')))
    .returning()
    .prepare();
  const begin = db.$client.prepare('BEGIN');
  const commit = db.$client.prepare('COMMIT');
  const rollback = db.$client.prepare('ROLLBACK');
  variant.rollout = (plan) =>
    rollout(plan, {
      transaction: async (work) => {
        begin.run();
        try {
          const result = await work(db);
          commit.run();
          return result;
        } catch (error) {
          rollback.run();
          throw error;
        }
      },
      insertDeployment: (_, row) => insertDeployment.run(row),
      insertEvent: (_, row) => insertEvent.run(row),
      insertOperation: (_, row) => insertOperation.run(row),
      updateOperation: (_, where, set) => {
        const statement = set.finishedAt ? finish : claim;
        const expected = where.runnerId ? { runnerId: where.runnerId } : {};
        const [row] = statement.all({ ...set, id: where.id, from: where.status[0], ...expected });
        return row ?? null;
      },
      updateDeployment: (_, id, set) => (set.finishedAt ? end : start).all({ ...set, id }),
    });
  return variant;
}

/** Reads asked for in one turn of the event loop, read together at its end (as EntityTable does). */
function perTurnBatch(readMany) {
  let pending;
  return (id) => {
    if (!pending) {
      const ids = [];
      const rows = new Promise((r) => setImmediate(r)).then(async () => {
        pending = undefined;
        return new Map((await readMany(ids)).map((row) => [row.id, row]));
      });
      pending = { ids, rows };
    }
    pending.ids.push(id);
    return pending.rows.then((rows) => rows.get(id) ?? null);
  };
}

// ---- (c) TypeORM repositories and query builders -------------------------------------------------

function typeOrmVariant(ds) {
  const repo = ds.getRepository(Deployment);
  const order = { createdAt: 'DESC', id: 'DESC' };
  const page = ([rows, total]) => ({ rows, total });
  return {
    byId: (id) => repo.findOneBy({ id }),
    list: (service, environment) =>
      repo.findAndCount({ where: { service, environment }, order, take: PAGE }).then(page),
    deep: () => repo.findAndCount({ order, take: PAGE, skip: DEEP_OFFSET }).then(page),
    previous: (of) =>
      repo
        .createQueryBuilder('d')
        .where('d.service = :service AND d.environment = :environment AND d.status = :status', {
          ...of,
          status: 'successful',
        })
        .andWhere('(d.created_at, d.id) < (:createdAt, :id)', of)
        .orderBy('d.createdAt', 'DESC')
        .addOrderBy('d.id', 'DESC')
        .limit(1)
        .getOne(),
    rollout: (plan) =>
      rollout(plan, {
        transaction: (work) => ds.transaction(work),
        insertDeployment: (m, row) => m.insert(Deployment, row),
        insertEvent: (m, row) => m.insert(DeploymentEvent, row),
        insertOperation: (m, row) => m.insert(Operation, row),
        // No UPDATE … RETURNING on SQLite in TypeORM: update, then read the row back.
        updateOperation: async (m, where, set) => {
          const criteria = { ...where, status: In(where.status) };
          const { affected } = await m.update(Operation, criteria, set);
          return affected ? m.findOneBy(Operation, { id: where.id }) : null;
        },
        updateDeployment: (m, id, set) => m.update(Deployment, { id }, set),
      }),
  };
}

// ---- A rollout's writes, as the service makes them ------------------------------------------------

/**
 * deployments.service.ts `start` (deployment + event + operation in one transaction), then the
 * runner's two transitions (operation.store.ts `transition` with the handler's `recordStatus`):
 * pending → running, running → succeeded, each an UPDATE of the operation answering its row, an
 * UPDATE of the deployment and an event, in one transaction. Answers the deployment's id.
 */
async function rollout(plan, w) {
  const created = nowIso();
  const deployment = {
    id: uuidv7(),
    service: plan.service,
    version: plan.version,
    environment: 'production',
    status: 'pending',
    description: null,
    createdBy: 'trial',
    createdByKeyId: plan.keyId,
    createdAt: created,
    startedAt: null,
    finishedAt: null,
    operationId: uuidv7(),
    rollbackOf: null,
  };
  const operation = {
    id: deployment.operationId,
    type: 'deployment.rollout',
    status: 'pending',
    progress: 0,
    targetType: 'deployment',
    targetId: deployment.id,
    scope: deployment.environment,
    message: 'Requested by trial',
    errorCode: null,
    errorMessage: null,
    result: null,
    cancelRequested: false,
    runnerId: null,
    heartbeatAt: null,
    createdAt: created,
    startedAt: null,
    updatedAt: created,
    finishedAt: null,
  };
  const event = (status, message, at) => ({ deploymentId: deployment.id, status, message, at });
  await w.transaction(async (m) => {
    await w.insertDeployment(m, deployment);
    await w.insertEvent(m, event('pending', operation.message, created));
    await w.insertOperation(m, operation);
  });
  const runnerId = `runner-${plan.keyId.slice(0, 8)}`;
  const started = nowIso();
  await w.transaction(async (m) => {
    const claimed = await w.updateOperation(
      m,
      { id: operation.id, status: ['pending'] },
      { status: 'running', startedAt: started, runnerId, heartbeatAt: started, updatedAt: started },
    );
    if (!claimed) throw new Error('claim failed');
    await w.updateDeployment(m, deployment.id, { status: 'in_progress', startedAt: started });
    await w.insertEvent(m, event('in_progress', 'Rollout started', started));
  });
  const finished = nowIso();
  await w.transaction(async (m) => {
    const done = await w.updateOperation(
      m,
      { id: operation.id, status: ['running'], runnerId },
      {
        status: 'succeeded',
        progress: 100,
        result: { deployment_id: deployment.id, service: plan.service, version: plan.version },
        message: 'Succeeded',
        finishedAt: finished,
        updatedAt: finished,
      },
    );
    if (!done) throw new Error('finish failed');
    await w.updateDeployment(m, deployment.id, { status: 'successful', finishedAt: finished });
    await w.insertEvent(m, event('successful', 'Rollout succeeded', finished));
  });
  return deployment.id;
}

// ---- Measuring ------------------------------------------------------------------------------------

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Each variant runs `iterations` calls per round, the variants in turns (the order rotating each
 * round), after one unmeasured pass; `concurrency` calls in flight at a time. Answers per variant
 * the median wall time per call (µs), Node CPU per call (µs), and each round's median.
 */
async function measure(variants, call, { iterations, concurrency = 1 }) {
  const keys = Object.keys(variants);
  const samples = Object.fromEntries(keys.map((k) => [k, []]));
  const rounds = Object.fromEntries(keys.map((k) => [k, []]));
  const cpu = Object.fromEntries(keys.map((k) => [k, 0]));
  const counters = Object.fromEntries(keys.map((k) => [k, 0]));
  const run = async (key, n, record) => {
    const before = process.cpuUsage();
    const round = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      if (concurrency === 1) await call(variants[key], counters[key]++, key);
      else
        await Promise.all(
          Array.from({ length: concurrency }, () => call(variants[key], counters[key]++, key)),
        );
      round.push(Number(process.hrtime.bigint() - t0) / 1000 / concurrency);
    }
    const used = process.cpuUsage(before);
    if (record) {
      samples[key].push(...round);
      rounds[key].push(median(round));
      cpu[key] += (used.user + used.system) / (n * concurrency);
    }
  };
  for (const key of keys) await run(key, Math.max(20, Math.ceil(iterations / 2)), false);
  for (let r = 0; r < ROUNDS; r++) {
    const order = keys.map((_, i) => keys[(i + r) % keys.length]);
    for (const key of order) await run(key, iterations, true);
  }
  return Object.fromEntries(
    keys.map((k) => [k, { us: median(samples[k]), cpu: cpu[k] / ROUNDS, rounds: rounds[k] }]),
  );
}

/** The same answers from every variant, before anything is timed. */
async function checkSameAnswers(variants, samples) {
  const canonical = (row) =>
    row
      ? JSON.stringify(
          row,
          Object.keys(row)
            .filter((k) => k !== 'total')
            .sort(),
        )
      : 'null';
  const ids = (page) => `${page.total}:${page.rows.map((r) => r.id).join(',')}`;
  const checks = [
    ['byId', async (v) => canonical(await v.byId(samples[3].id))],
    ['list', async (v) => ids(await v.list(samples[3].service, samples[3].environment))],
    ['deep', async (v) => ids(await v.deep())],
    ['previous', async (v) => canonical(await v.previous(samples[3]))],
  ];
  for (const [name, ask] of checks) {
    const answers = {};
    for (const [key, v] of Object.entries(variants)) answers[key] = await ask(v);
    if (new Set(Object.values(answers)).size !== 1)
      throw new Error(`${name}: the variants disagree: ${JSON.stringify(answers, null, 1)}`);
  }
}

async function trial(kind) {
  const dir = mkdtempSync(join(tmpdir(), 'fd-orm-trial-'));
  const cleanup = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    let database;
    if (kind === 'postgres') {
      const name = `fd_orm_trial_${randomBytes(4).toString('hex')}`;
      await adminQuery(`CREATE DATABASE ${name}`);
      cleanup.unshift(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      const url = new URL(PG_URL);
      url.pathname = `/${name}`;
      database = { type: 'postgres', url: url.toString() };
    } else {
      database = { type: 'better-sqlite3', database: join(dir, 'trial.db') };
    }
    // The service's own options: its migrations, pool size and SQLite pragmas.
    const options = typeOrmOptions({ database });
    const ds = new DataSource({ ...options, entities: [Deployment, DeploymentEvent, Operation] });
    await ds.initialize(); // runs the migrations
    cleanup.unshift(() => ds.destroy());
    const seeded = Date.now();
    if (kind === 'postgres') await seedPostgres(database.url, ROWS);
    else await seedSqlite(database.database, ROWS);
    const seedSeconds = (Date.now() - seeded) / 1000;

    let db;
    if (kind === 'postgres') {
      const pool = new Pool({ connectionString: database.url, max: MAX_POOL_CONNECTIONS });
      cleanup.unshift(() => pool.end());
      db = drizzlePg(pool);
    } else {
      const client = new SqliteDatabase(database.database);
      client.pragma('journal_mode = WAL');
      options.prepareDatabase(client);
      cleanup.unshift(() => client.close());
      db = drizzleSqlite(client);
    }
    const variants = {
      a: entityTableVariant(ds),
      b: drizzleVariant(kind, db, schemas[kind === 'postgres' ? 'postgres' : 'sqlite']),
      c: typeOrmVariant(ds),
    };

    // 100 seeded deployments spread over the table, as the read scenarios cycle through.
    const samples = [];
    const step = Math.floor(ROWS / 100);
    for (let i = 0; i < 100; i++) {
      const [row] = await ds.query(
        'SELECT id, service, environment, created_at AS "createdAt" FROM deployments ORDER BY created_at, id LIMIT 1 OFFSET ' +
          (i * step + Math.floor(step / 2)),
      );
      samples.push(row);
    }
    await checkSameAnswers(variants, samples);
    for (const [key, v] of Object.entries(variants)) {
      const id = await v.rollout({
        service: `check-${key}`,
        version: '1.0.0',
        keyId: randomBytes(18).toString('hex'),
      });
      const [row] = await ds.query(
        `SELECT d.status, d.started_at AS started, d.finished_at AS finished, o.status AS op, o.result,
           (SELECT COUNT(*) FROM deployment_events e WHERE e.deployment_id = d.id) AS events
         FROM deployments d JOIN operations o ON o.id = d.operation_id WHERE d.id = ${kind === 'postgres' ? '$1' : '?'}`,
        [id],
      );
      const ok =
        row.status === 'successful' &&
        row.started &&
        row.finished &&
        row.op === 'succeeded' &&
        JSON.parse(row.result).deployment_id === id &&
        Number(row.events) === 3;
      if (!ok) throw new Error(`rollout (${key}) wrote ${JSON.stringify(row)}`);
    }

    const n = (x) => Math.max(10, Math.round(x * SCALE));
    const plan = (i, key) => ({
      service: `trial-${key}-${i % 50}`,
      version: `2.0.${i}`,
      keyId: randomBytes(18).toString('hex'),
    });
    const ops = [
      ['deployment by id', (v, i) => v.byId(samples[i % 100].id), { iterations: n(2000) }],
      ...(kind === 'postgres'
        ? [
            [
              'by id, 10 in flight',
              (v, i) => v.byId(samples[i % 100].id),
              { iterations: n(300), concurrency: 10 },
            ],
            ['by id, 10 in flight, drizzle batched', null, { iterations: n(300), concurrency: 10 }],
          ]
        : []),
      [
        'filtered page of 50 + total',
        (v, i) => v.list(samples[i % 100].service, samples[i % 100].environment),
        { iterations: n(400) },
      ],
      ['page 500 + total (deferred join)', (v) => v.deep(), { iterations: n(40) }],
      [
        'previous successful (keyset, limit 1)',
        (v, i) => v.previous(samples[i % 100]),
        { iterations: n(1000) },
      ],
      [
        'rollout: 3 transactions, 9 writes',
        async (v, i, key) => v.rollout(plan(i, key)),
        { iterations: n(150) },
      ],
    ];
    const results = [];
    for (const [name, call, options] of ops) {
      if (!call) {
        // Only (a) and drizzle with EntityTable's batching: is that trick portable?
        const batched = { a: variants.a, 'b+batch': { byId: variants.b.byIdBatched } };
        const r = await measure(batched, (v, i) => v.byId(samples[i % 100].id), options);
        results.push({ name, ...r });
        continue;
      }
      results.push({ name, ...(await measure(variants, call, options)) });
    }
    print(kind, seedSeconds, results);
    return results;
  } finally {
    for (const step of cleanup) await step();
  }
}

async function adminQuery(text) {
  const c = new Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

function print(kind, seedSeconds, results) {
  const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(1));
  const ratio = (x, base) => (x / base).toFixed(2);
  const spread = (r, base) => {
    const per = r.rounds.map((x, i) => x / base.rounds[i]);
    return `${Math.min(...per).toFixed(2)}–${Math.max(...per).toFixed(2)}`;
  };
  console.log(
    `\n${kind}, ${ROWS.toLocaleString('en')} deployments (seeded in ${seedSeconds.toFixed(0)} s), ${ROUNDS} rounds, node ${process.version}`,
  );
  console.log('  op | variant | median µs | ratio to (a) (rounds) | Node CPU µs/op | CPU ratio');
  for (const r of results) {
    const { name, a, ...others } = r;
    console.log(`  ${name}`);
    console.log(
      `    (a) EntityTable        ${fmt(a.us).padStart(8)}   1.00                    ${fmt(a.cpu).padStart(8)}   1.00`,
    );
    for (const [key, v] of Object.entries(others)) {
      const label = { b: '(b) drizzle', c: '(c) TypeORM', 'b+batch': '(b) drizzle + batching' }[
        key
      ];
      console.log(
        `    ${label.padEnd(22)} ${fmt(v.us).padStart(8)}   ${ratio(v.us, a.us)} (${spread(v, a)})`.padEnd(
          63,
        ) + `${fmt(v.cpu).padStart(8)}   ${ratio(v.cpu, a.cpu)}`,
      );
    }
  }
}

async function main() {
  for (const kind of DATABASES) {
    if (!['sqlite', 'postgres'].includes(kind))
      throw new Error(`--db takes sqlite and/or postgres, not ${kind}`);
    await trial(kind);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
