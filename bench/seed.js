// Seeds deployments (and their operations) straight into the database, in bulk.
const { v7: uuidv7 } = require('uuid');

const SERVICES = 50;
const ENVIRONMENTS = ['development', 'staging', 'qa', 'production'];

/** Row i of the seed: spread over 50 services and 4 environments, one a minute apart, all finished. */
function row(i, start) {
  const created = new Date(start + i * 60_000).toISOString();
  const finished = new Date(start + i * 60_000 + 30_000).toISOString();
  const id = uuidv7({ msecs: start + i * 60_000 });
  const operationId = uuidv7({ msecs: start + i * 60_000 + 1 });
  return {
    deployment: [id, `svc-${i % SERVICES}`, `1.${Math.floor(i / 200)}.${i % 200}`, ENVIRONMENTS[Math.floor(i / SERVICES) % ENVIRONMENTS.length], 'successful', null, 'seed', 'seed', created, created, finished, operationId, null],
    operation: [operationId, 'deployment.rollout', 'succeeded', 100, 'deployment', id, ENVIRONMENTS[Math.floor(i / SERVICES) % ENVIRONMENTS.length], 'Succeeded', null, null, null, false, null, null, created, created, finished, finished],
  };
}

// What Flightdeck keeps in the transaction that inserts each deployment (docs/decisions/023).
const COUNT_DEPLOYMENTS = 'DELETE FROM deployment_counts; INSERT INTO deployment_counts (service, environment, count) SELECT service, environment, COUNT(*) FROM deployments GROUP BY service, environment';

const DEPLOYMENT_COLUMNS = 'id, service, version, environment, status, description, created_by, created_by_key_id, created_at, started_at, finished_at, operation_id, rollback_of';
const OPERATION_COLUMNS = 'id, type, status, progress, target_type, target_id, scope, message, error_code, error_message, result, cancel_requested, runner_id, heartbeat_at, created_at, started_at, updated_at, finished_at';

async function seedSqlite(file, rows, { operations = true } = {}) {
  const Database = require('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const insertDeployment = db.prepare(`INSERT INTO deployments (${DEPLOYMENT_COLUMNS}) VALUES (${'?,'.repeat(12)}?)`);
  const insertOperation = db.prepare(`INSERT INTO operations (${OPERATION_COLUMNS}) VALUES (${'?,'.repeat(17)}?)`);
  const start = Date.now() - rows * 60_000;
  const batch = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const r = row(i, start);
      insertDeployment.run(r.deployment);
      if (!operations) continue;
      r.operation[11] = 0;
      insertOperation.run(r.operation);
    }
  });
  for (let from = 0; from < rows; from += 50_000) batch(from, Math.min(rows, from + 50_000));
  db.exec(COUNT_DEPLOYMENTS);
  // No ANALYZE: Flightdeck never runs it, so a real SQLite file has no statistics. With them
  // (sqlite_stat4), SQLite plans every statement that binds an indexed column again on every run:
  // a filtered page took 139 µs instead of 115, its count 29 µs instead of 22 (docs/decisions/015).
  db.close();
}

async function seedPostgres(url, rows, { operations = true } = {}) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  const start = Date.now() - rows * 60_000;
  const CHUNK = 2000;
  for (let from = 0; from < rows; from += CHUNK) {
    // In transactions of 50,000 rows.
    if (from % (CHUNK * 25) === 0) await client.query(from === 0 ? 'BEGIN' : 'COMMIT; BEGIN');
    const to = Math.min(rows, from + CHUNK);
    const deployments = [];
    const ops = [];
    for (let i = from; i < to; i++) {
      const r = row(i, start);
      deployments.push(r.deployment);
      ops.push(r.operation);
    }
    await client.query(insertSql('deployments', DEPLOYMENT_COLUMNS, deployments), deployments.flat());
    if (operations) await client.query(insertSql('operations', OPERATION_COLUMNS, ops), ops.flat());
  }
  await client.query(`${COUNT_DEPLOYMENTS}; COMMIT`);
  // What autovacuum does after a bulk insert (PostgreSQL 13+ vacuums insert-only tables too): fresh
  // statistics, and a visibility map so that counts can be answered from the indexes alone.
  await client.query('VACUUM ANALYZE');
  await client.end();
}

function insertSql(table, columns, rows) {
  const width = rows[0].length;
  const values = rows.map((_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(',')})`);
  return `INSERT INTO ${table} (${columns}) VALUES ${values.join(',')}`;
}

module.exports = { seedSqlite, seedPostgres, SERVICES, ENVIRONMENTS };
