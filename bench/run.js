// npm run bench (scripts/with-node.sh 24 npm run bench: on Node 24, service and floor) [-- --scenario first-page-scale|compare] [-- --rows 1000000] [-- --db sqlite|postgres|sqlite,postgres] [-- --duration 5] [-- --rounds 5] [-- --warmup 2] [-- --floor nest|flightdeck]
// Seeds a database, starts the built service over loopback and loads it with autocannon; in the
// same run, in turns with it, a bare NestJS app answering the same requests with each scenario's
// status and body, and prints every figure also as a ratio to that floor. Writes bench/results.json. Not a test: this machine is shared and noisy.
const { spawn } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
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
const CONNECTIONS = Number(arg('connections', '50'));
// The floor as Nest ships it (the "bare NestJS app"), or on Flightdeck's Express adapter.
const FLOOR = arg('floor', 'nest');
if (!['nest', 'flightdeck'].includes(FLOOR)) throw new Error(`--floor takes nest or flightdeck, not ${FLOOR}`);
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
  const probe = script.includes('floor') ? '/up' : '/healthz';
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

const ROUNDS = Number(arg('rounds', '5'));
const WARMUP = Number(arg('warmup', '2'));

/** One autocannon run: requests, seconds, latency percentiles and what went wrong. */
async function load(options, seconds) {
  const result = await autocannon({ connections: CONNECTIONS, duration: seconds, ...options });
  const expected = options.expectStatus ?? 200;
  const wrongStatus = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => Number(code) !== expected)
    .reduce((sum, [, s]) => sum + s.count, 0);
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + wrongStatus,
  };
}

/**
 * A scenario against the service and against its floor, in turns: ROUNDS short runs each, one
 * after the other, so a change in what else the machine is doing hits both alike. Each side's
 * req/s is over all its runs; the ratio is the median of the rounds' ratios.
 */
async function compare(title, service, floor) {
  const runs = { service: [], floor: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.service.push(await load(service, DURATION / ROUNDS));
    runs.floor.push(await load(floor, DURATION / ROUNDS));
  }
  const rate = (rs) => rs.reduce((n, r) => n + r.requests, 0) / rs.reduce((t, r) => t + r.seconds, 0);
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  return {
    scenario: title,
    requests_per_second: Math.round(rate(runs.service)),
    p50_ms: median(runs.service.map((r) => r.p50)),
    p99_ms: Math.max(...runs.service.map((r) => r.p99)),
    floor_p99_ms: Math.max(...runs.floor.map((r) => r.p99)),
    errors: runs.service.reduce((n, r) => n + r.errors, 0),
    floor_requests_per_second: Math.round(rate(runs.floor)),
    ratio_to_floor: +median(runs.service.map((r, i) => r.requests / r.seconds / (runs.floor[i].requests / runs.floor[i].seconds))).toFixed(2),
  };
}

/** An empty database of `kind` (a PostgreSQL database beside BENCH_POSTGRES_URL's, or a file in `dir`) and how to drop it. */
async function freshDatabase(kind, dir) {
  if (kind !== 'postgres') return { url: `sqlite:${join(dir, 'bench.db')}`, drop: async () => {} };
  const name = `fd_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  const drop = async () => {
    const c = new Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
  return { url: u.toString(), drop };
}

/** Service settings for the bench: rate limits off, log level warn, a 0 ms simulated driver. */
const serviceEnv = (url) => ({
  DATABASE_URL: url,
  FLIGHTDECK_ADMIN_KEY: ADMIN,
  FLIGHTDECK_RATE_LIMIT_PER_MINUTE: '0',
  FLIGHTDECK_LOG_LEVEL: 'warn',
  FLIGHTDECK_SIMULATED_DURATION_MS: '0',
  REDIS_URL: '',
});

async function benchDatabase(kind) {
  const dir = mkdtempSync(join(tmpdir(), 'fd-bench-'));
  const { url, drop: dropDb } = await freshDatabase(kind, dir);
  const env = serviceEnv(url);
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
    // As clients send them: a content type only with a body.
    const headers = { authorization: `Bearer ${ADMIN}` };
    const wrongKey = { authorization: 'Bearer fdk_wrong_key' };
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

    // Where page 500 starts, as a client walking the list by cursor gets there.
    const cursor500 = (await (await fetch(`${server.base}/api/v1/deployments?page=499`, { headers })).json()).next_cursor;

    // Each scenario with the body it answers (captured now), which the floor then answers too.
    let n = 0;
    const tag = randomBytes(3).toString('hex');
    const api = `${server.base}/api/v1`;
    const scenarios = [
      { title: 'GET /deployments/{id}', sample: `${api}/deployments/${ids[0]}`, options: { url: server.base, requests: [{ setupRequest: cycle('/api/v1/deployments/', ids) }] } },
      { title: 'GET /deployments?service&environment (page 1)', sample: `${api}/deployments?service=svc-7&environment=production`, options: { url: `${api}/deployments?service=svc-7&environment=production` } },
      { title: 'GET /deployments?page=500 (deep page)', sample: `${api}/deployments?page=500`, options: { url: `${api}/deployments?page=500` } },
      { title: 'GET /deployments?cursor= (page 500 by cursor)', sample: `${api}/deployments?cursor=${cursor500}`, options: { url: `${api}/deployments?cursor=${cursor500}` } },
      { title: 'GET /deployments?page=1 (unfiltered)', sample: `${api}/deployments?page=1`, options: { url: `${api}/deployments?page=1` } },
      { title: 'GET /operations/{id}', sample: `${api}/operations/${operationIds[0]}`, options: { url: server.base, requests: [{ setupRequest: cycle('/api/v1/operations/', operationIds) }] } },
      {
        title: 'POST /deployments (distinct services)',
        sample: `${api}/deployments/${ids[0]}`,
        options: {
          url: server.base,
          expectStatus: 201,
          headers: { ...headers, 'content-type': 'application/json' },
          requests: [{
            method: 'POST',
            setupRequest: (req) => ({ ...req, path: '/api/v1/deployments', body: JSON.stringify({ service: `bench-${tag}-${n++}`, version: '1.0.0', environment: 'bench' }) }),
          }],
        },
      },
      { title: 'GET /deployments with a wrong key (401)', sample: `${api}/deployments`, sampleHeaders: wrongKey, options: { url: `${api}/deployments`, headers: wrongKey, expectStatus: 401 } },
    ];
    // The floor runs beside the service, answering each scenario's body (captured first).
    for (const scenario of scenarios) {
      const answer = await fetch(scenario.sample, { headers: scenario.sampleHeaders ?? headers });
      scenario.status = scenario.options.expectStatus ?? answer.status;
      scenario.body = await answer.text();
    }
    const floorServer = await start('bench/floor.js', { FLOOR_ADAPTER: FLOOR, FLOOR_SCENARIOS: JSON.stringify(scenarios.map(({ status, body }) => ({ status, body }))) });
    const floor = { startup_ms: floorServer.startupMs, idle_rss_mb: +rssMb(floorServer.pid).toFixed(1) };
    const loads = scenarios.map((scenario, i) => {
      const service = { headers, ...scenario.options };
      // The floor gets the same requests, so the load generator does the same work for both.
      const floor = { ...service, url: service.url.replace(server.base, floorServer.base), headers: { ...service.headers, 'x-floor-scenario': String(i) } };
      return { service, floor };
    });
    // Unmeasured first, every scenario on both: a fresh service takes ~4 s of load before V8 has
    // compiled its hot code (reads ran at 1279, 2297, 3286, then ~4,800 req/s in the first seconds).
    for (const { service, floor } of WARMUP > 0 ? loads : []) {
      await load(service, WARMUP);
      await load(floor, WARMUP);
    }
    const results = [];
    for (const [i, scenario] of scenarios.entries()) {
      const result = await compare(scenario.title, loads[i].service, loads[i].floor);
      results.push({ ...result, body_bytes: Buffer.byteLength(scenario.body) });
    }
    const loadedRss = rssMb(server.pid);
    await server.stop();
    await floorServer.stop();
    return {
      database: kind,
      floor,
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
    rmSync(dir, { recursive: true, force: true }); // a million-row SQLite file is over 1 GB
  }
}

function targets(run) {
  const by = (name) => run.scenarios.find((s) => s.scenario.startsWith(name));
  const read = by('GET /deployments/{id}');
  const op = by('GET /operations/{id}');
  const filtered = by('GET /deployments?service');
  const deep = by('GET /deployments?page=500');
  const cursor = by('GET /deployments?cursor=');
  const first = by('GET /deployments?page=1');
  const create = by('POST /deployments');
  return [
    ['single-row reads >= 60% of floor', Math.min(read.ratio_to_floor, op.ratio_to_floor) >= 0.6, `${read.ratio_to_floor}, ${op.ratio_to_floor}`],
    ['filtered lists >= 40% of floor', filtered.ratio_to_floor >= 0.4, `${filtered.ratio_to_floor}`],
    [`p99 of reads and filtered lists <= 3x the floor's (${CONNECTIONS} connections)`, [read, op, filtered].every((s) => s.p99_ms <= 3 * s.floor_p99_ms), [read, op, filtered].map((s) => `${s.p99_ms}/${s.floor_p99_ms} ms`).join(', ')],
    ['deep page <= 2x first page (req/s)', first.requests_per_second / Math.max(1, deep.requests_per_second) <= 2, `${(first.requests_per_second / Math.max(1, deep.requests_per_second)).toFixed(2)}x by page number, ${(first.requests_per_second / Math.max(1, cursor.requests_per_second)).toFixed(2)}x by cursor`],
    ...(run.database === 'sqlite' ? [['creating rollouts >= 1000/s', create.requests_per_second >= 1000, `${create.requests_per_second}/s`]] : []),
    ['no errors', run.scenarios.every((s) => s.errors === 0), run.scenarios.map((s) => s.errors).join('/')],
  ].map(([target, met, value]) => ({ target, met, value }));
}

async function main() {
  const started = Date.now();
  const runs = [];
  for (const kind of DATABASES) {
    const run = await benchDatabase(kind);
    run.targets = targets(run);
    runs.push(run);
  }

  console.log(`\nFlightdeck benchmark on Node ${process.version}: ${ROWS} seeded deployments, ${CONNECTIONS} connections, ${DURATION}s per scenario and as long for its floor, in ${ROUNDS} turns, ${require('node:os').cpus().length} cores; floor: a bare NestJS app on ${FLOOR === 'nest' ? "Nest's own Express adapter" : "Flightdeck's Express adapter"}`);
  for (const run of runs) {
    console.log(`== ${run.database}: seeded in ${run.seed_seconds}s; start-up ${run.startup_ms} ms (floor ${run.floor.startup_ms} ms); idle RSS ${run.idle_rss_mb} MB (floor ${run.floor.idle_rss_mb} MB); RSS after load ${run.rss_after_load_mb} MB; list on ${ROWS} rows: median ${run.list_ms_median} ms, p90 ${run.list_ms_p90} ms`);
    console.table(run.scenarios.map((s) => ({ scenario: s.scenario, 'req/s': s.requests_per_second, 'floor req/s': s.floor_requests_per_second, 'x floor': s.ratio_to_floor, 'body B': s.body_bytes, 'p50 ms': s.p50_ms, 'p99 ms': s.p99_ms, 'floor p99': s.floor_p99_ms, errors: s.errors })));
    for (const t of run.targets) console.log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.value}`);
    console.log('');
  }
  const results = { at: new Date().toISOString(), node: process.version, floor_adapter: FLOOR, rows: ROWS, duration_seconds: DURATION, rounds: ROUNDS, connections: CONNECTIONS, runs, total_seconds: (Date.now() - started) / 1000 };
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote bench/results.json (${results.total_seconds.toFixed(0)} s in all)`);
}

module.exports = { arg, start, load, freshDatabase, serviceEnv, DATABASES, ADMIN };

if (require.main === module) {
  const scenario = arg('scenario', 'all');
  const modes = { all: () => main, 'first-page-scale': () => require('./first-page-scale').main, compare: () => require('./compare').main };
  if (!modes[scenario]) throw new Error(`--scenario takes first-page-scale or compare, not ${scenario}`);
  const run = modes[scenario]();
  run().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
