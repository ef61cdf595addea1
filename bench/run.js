// npm run bench [-- --rows 1000000] [-- --db sqlite|postgres|sqlite,postgres] [-- --duration 5]
// Seeds a database, starts the built service over loopback and loads it with autocannon; in the
// same run it measures a bare NestJS app returning a same-sized body, and prints every figure also
// as a ratio to that floor. Writes bench/results.json. Not a test: this machine is shared and noisy.
const { spawn } = require('node:child_process');
const { mkdtempSync, readFileSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const net = require('node:net');
const { randomBytes } = require('node:crypto');
const autocannon = require('autocannon');
const { Client } = require('pg');
const { seedSqlite, seedPostgres } = require('./seed');

const ROOT = join(__dirname, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const ROWS = Number(arg('rows', '100000'));
const DATABASES = arg('db', 'sqlite,postgres').split(',');
const DURATION = Number(arg('duration', '5'));
const CONNECTIONS = Number(arg('connections', '10'));
const PG_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ADMIN = `fdk_bench_${randomBytes(16).toString('hex')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function start(script, env) {
  const port = await freePort();
  const t0 = Date.now();
  const child = spawn(process.execPath, [script], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr.on('data', (d) => (errors += d));
  const base = `http://127.0.0.1:${port}`;
  const probe = script.includes('floor') ? '/floor/x' : '/healthz';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited: ${errors.slice(-1000)}`);
    if (await fetch(base + probe).then((r) => r.ok).catch(() => false)) break;
    await sleep(20);
  }
  const startupMs = Date.now() - t0;
  return {
    base,
    startupMs,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function load(title, options) {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...options });
  const expected = options.expectStatus ?? 200;
  const wrongStatus = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => Number(code) !== expected)
    .reduce((sum, [, s]) => sum + s.count, 0);
  return {
    scenario: title,
    requests_per_second: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.timeouts + wrongStatus,
  };
}

async function benchDatabase(kind, floor) {
  const dir = mkdtempSync(join(tmpdir(), 'fd-bench-'));
  let url;
  let dropDb = async () => {};
  if (kind === 'postgres') {
    const name = `fd_bench_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    url = u.toString();
    dropDb = async () => {
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    url = `sqlite:${join(dir, 'bench.db')}`;
  }
  const env = {
    DATABASE_URL: url,
    FLIGHTDECK_ADMIN_KEY: ADMIN,
    FLIGHTDECK_RATE_LIMIT_PER_MINUTE: '0',
    FLIGHTDECK_LOG_LEVEL: 'warn',
    FLIGHTDECK_SIMULATED_DURATION_MS: '0',
    REDIS_URL: '',
  };
  try {
    // First start migrates the schema; then the seed goes straight into the tables.
    const migrate = await start('dist/main.js', env);
    await migrate.stop();
    const seedStarted = Date.now();
    if (kind === 'postgres') await seedPostgres(url, ROWS);
    else await seedSqlite(url.slice('sqlite:'.length), ROWS);
    const seedSeconds = (Date.now() - seedStarted) / 1000;

    const server = await start('dist/main.js', env);
    const idleRss = rssMb(server.pid);
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const list = await (await fetch(`${server.base}/api/v1/deployments?per_page=100`, { headers })).json();
    const ids = list.deployments.map((d) => d.id);
    const operationIds = list.deployments.map((d) => d.operation_id);
    const cycle = (prefix, values) => {
      let i = 0;
      return (req) => ({ ...req, path: `${prefix}${values[i++ % values.length]}` });
    };

    // The time to list on this many rows: single requests, one at a time.
    const listTimes = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      await fetch(`${server.base}/api/v1/deployments?service=svc-${i % 50}&environment=production`, { headers }).then((r) => r.json());
      listTimes.push(performance.now() - t0);
    }
    listTimes.sort((a, b) => a - b);

    const results = [];
    results.push(await load('GET /deployments/{id}', { url: server.base, headers, requests: [{ setupRequest: cycle('/api/v1/deployments/', ids) }] }));
    results.push(await load('GET /deployments?service&environment (page 1)', {
      url: `${server.base}/api/v1/deployments?service=svc-7&environment=production`, headers,
    }));
    results.push(await load('GET /deployments?page=500 (deep page)', { url: `${server.base}/api/v1/deployments?page=500`, headers }));
    results.push(await load('GET /deployments?page=1 (unfiltered)', { url: `${server.base}/api/v1/deployments?page=1`, headers }));
    results.push(await load('GET /operations/{id}', { url: server.base, headers, requests: [{ setupRequest: cycle('/api/v1/operations/', operationIds) }] }));
    let n = 0;
    const tag = randomBytes(3).toString('hex');
    results.push(await load('POST /deployments (distinct services)', {
      url: server.base,
      headers,
      expectStatus: 201,
      requests: [{
        method: 'POST',
        setupRequest: (req) => ({ ...req, path: '/api/v1/deployments', body: JSON.stringify({ service: `bench-${tag}-${n++}`, version: '1.0.0', environment: 'bench' }) }),
      }],
    }));
    results.push(await load('GET /deployments with a wrong key (401)', {
      url: `${server.base}/api/v1/deployments`,
      headers: { authorization: 'Bearer fdk_wrong_key' },
      expectStatus: 401,
    }));
    const loadedRss = rssMb(server.pid);
    await server.stop();
    for (const r of results) r.ratio_to_floor = +(r.requests_per_second / floor.requests_per_second).toFixed(2);
    return {
      database: kind,
      rows: ROWS,
      seed_seconds: seedSeconds,
      startup_ms: server.startupMs,
      idle_rss_mb: +idleRss.toFixed(1),
      rss_after_load_mb: +loadedRss.toFixed(1),
      list_ms_median: +listTimes[10].toFixed(1),
      list_ms_p90: +listTimes[18].toFixed(1),
      scenarios: results,
    };
  } finally {
    await dropDb();
  }
}

function targets(run, floor) {
  const by = (name) => run.scenarios.find((s) => s.scenario.startsWith(name));
  const read = by('GET /deployments/{id}');
  const op = by('GET /operations/{id}');
  const filtered = by('GET /deployments?service');
  const deep = by('GET /deployments?page=500');
  const first = by('GET /deployments?page=1');
  const create = by('POST /deployments');
  return [
    ['single-row reads >= 60% of floor', Math.min(read.ratio_to_floor, op.ratio_to_floor) >= 0.6, `${read.ratio_to_floor}, ${op.ratio_to_floor}`],
    ['filtered lists >= 40% of floor', filtered.ratio_to_floor >= 0.4, `${filtered.ratio_to_floor}`],
    ['deep page <= 2x first page (req/s)', first.requests_per_second / Math.max(1, deep.requests_per_second) <= 2, `${(first.requests_per_second / Math.max(1, deep.requests_per_second)).toFixed(2)}x`],
    ...(run.database === 'sqlite' ? [['creating rollouts >= 1000/s', create.requests_per_second >= 1000, `${create.requests_per_second}/s`]] : []),
    ['no errors', run.scenarios.every((s) => s.errors === 0), run.scenarios.map((s) => s.errors).join('/')],
  ].map(([target, met, value]) => ({ target, met, value }));
}

async function main() {
  const started = Date.now();
  // The floor answers the same body as GET /deployments/{id}.
  const sample = {
    id: '01a21513-97f5-752e-b8c7-1c1175703548', service: 'svc-7', version: '1.4.2', environment: 'production',
    status: 'successful', description: null, created_by: 'seed', created_at: '2026-11-25T10:30:00.000Z',
    started_at: '2026-11-25T10:30:00.000Z', finished_at: '2026-11-25T10:30:30.000Z', duration_seconds: 30,
    operation_id: '01a21513-97f5-752e-b8c7-1c1175703549', rollback_of: null,
  };
  const floorServer = await start('bench/floor.js', { FLOOR_BODY: JSON.stringify(sample) });
  const floor = await load('floor: bare NestJS, same JSON body', { url: `${floorServer.base}/floor/x` });
  floor.ratio_to_floor = 1;
  floor.startup_ms = floorServer.startupMs;
  floor.idle_rss_mb = +rssMb(floorServer.pid).toFixed(1);
  await floorServer.stop();

  const runs = [];
  for (const kind of DATABASES) {
    const run = await benchDatabase(kind, floor);
    run.targets = targets(run, floor);
    runs.push(run);
  }

  console.log(`\nFlightdeck benchmark: ${ROWS} seeded deployments, ${CONNECTIONS} connections, ${DURATION}s per scenario, ${require('node:os').cpus().length} cores`);
  console.log(`floor: ${floor.requests_per_second} req/s, p50 ${floor.p50_ms} ms, p99 ${floor.p99_ms} ms (start-up ${floor.startup_ms} ms, idle RSS ${floor.idle_rss_mb} MB)\n`);
  for (const run of runs) {
    console.log(`== ${run.database}: seeded in ${run.seed_seconds}s; start-up ${run.startup_ms} ms (${(run.startup_ms / floor.startup_ms).toFixed(1)}x floor); idle RSS ${run.idle_rss_mb} MB; RSS after load ${run.rss_after_load_mb} MB; list on ${ROWS} rows: median ${run.list_ms_median} ms, p90 ${run.list_ms_p90} ms`);
    console.table(run.scenarios.map((s) => ({ scenario: s.scenario, 'req/s': s.requests_per_second, 'x floor': s.ratio_to_floor, 'p50 ms': s.p50_ms, 'p99 ms': s.p99_ms, errors: s.errors })));
    for (const t of run.targets) console.log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.value}`);
    console.log('');
  }
  const results = { at: new Date().toISOString(), rows: ROWS, duration_seconds: DURATION, connections: CONNECTIONS, floor, runs, total_seconds: (Date.now() - started) / 1000 };
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote bench/results.json (${results.total_seconds.toFixed(0)} s in all)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
