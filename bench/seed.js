// Seeds deployments (and their operations) straight into the database, in bulk.
const { v7: uuidv7 } = require('uuid');

const SERVICES = 50;
const ENVIRONMENTS = ['development', 'staging', 'qa', 'production'];

/**
 * Row i of `rows`: spread over `services` services and 4 environments, one a minute apart, all
 * finished but, with `inFlight`, the newest of every tenth service and environment, in progress
 * (its operation running, at 50 %).
 */
function row(i, start, rows, { services = SERVICES, inFlight = false } = {}) {
  const created = new Date(start + i * 60_000).toISOString();
  const finished = new Date(start + i * 60_000 + 30_000).toISOString();
  const id = uuidv7({ msecs: start + i * 60_000 });
  const operationId = uuidv7({ msecs: start + i * 60_000 + 1 });
  const environment = ENVIRONMENTS[Math.floor(i / services) % ENVIRONMENTS.length];
  const running = inFlight && i >= rows - services * ENVIRONMENTS.length && i % 10 === 0;
  return {
    running,
    deployment: [id, `svc-${i % services}`, `1.${Math.floor(i / 200)}.${i % 200}`, environment, running ? 'in_progress' : 'successful', null, 'seed', 'seed', created, created, running ? null : finished, operationId, null],
    operation: running
      ? [operationId, 'deployment.rollout', 'running', 50, 'deployment', id, environment, 'Rolling out', null, null, null, false, null, null, created, created, created, null]
      : [operationId, 'deployment.rollout', 'succeeded', 100, 'deployment', id, environment, 'Succeeded', null, null, null, false, null, null, created, created, finished, finished],
  };
}

// What Flightdeck keeps in the transaction of each insert and status change (docs/decisions/023):
// filled as migration 1764000000010 fills it (the bench runs on the build).
const KEEP_PAIRS = ['DELETE FROM service_environments', ...require('../dist/database/migrations/1764000000010-service-environments').FILL_SERVICE_ENVIRONMENTS];

const DEPLOYMENT_COLUMNS = 'id, service, version, environment, status, description, created_by, created_by_key_id, created_at, started_at, finished_at, operation_id, rollback_of';
const OPERATION_COLUMNS = 'id, type, status, progress, target_type, target_id, scope, message, error_code, error_message, result, cancel_requested, runner_id, heartbeat_at, created_at, started_at, updated_at, finished_at';

/**
 * `rows` deployments over `services` services (and 4 environments); with `operations`, each with
 * its operation (in-flight ones always have theirs); with `inFlight`, some in progress (see row).
 */
async function seedSqlite(file, rows, { operations = true, ...spread } = {}) {
  const Database = require('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const insertDeployment = db.prepare(`INSERT INTO deployments (${DEPLOYMENT_COLUMNS}) VALUES (${'?,'.repeat(12)}?)`);
  const insertOperation = db.prepare(`INSERT INTO operations (${OPERATION_COLUMNS}) VALUES (${'?,'.repeat(17)}?)`);
  const start = Date.now() - rows * 60_000;
  const batch = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const r = row(i, start, rows, spread);
      insertDeployment.run(r.deployment);
      if (!operations && !r.running) continue;
      r.operation[11] = 0;
      insertOperation.run(r.operation);
    }
  });
  for (let from = 0; from < rows; from += 50_000) batch(from, Math.min(rows, from + 50_000));
  for (const sql of KEEP_PAIRS) db.exec(sql);
  // No ANALYZE: Flightdeck never runs it, so a real SQLite file has no statistics. With them
  // (sqlite_stat4), SQLite plans every statement that binds an indexed column again on every run:
  // a filtered page took 139 µs instead of 115, its count 29 µs instead of 22 (docs/decisions/015).
  db.close();
}

async function seedPostgres(url, rows, { operations = true, ...spread } = {}) {
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
      const r = row(i, start, rows, spread);
      deployments.push(r.deployment);
      if (operations || r.running) ops.push(r.operation);
    }
    await client.query(insertSql('deployments', DEPLOYMENT_COLUMNS, deployments), deployments.flat());
    if (ops.length > 0) await client.query(insertSql('operations', OPERATION_COLUMNS, ops), ops.flat());
  }
  for (const sql of KEEP_PAIRS) await client.query(sql);
  await client.query('COMMIT');
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
