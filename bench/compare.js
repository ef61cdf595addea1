// npm run bench -- --scenario compare --builds dist,/tmp/variant/dist [-- --db sqlite] [-- --rows 100000] [-- --duration 12] [-- --rounds 6]
// Judges a change: two (or more) builds of the service on the same seeded database, loaded in
// turns (A/B, then B/A, ...), so whatever else the machine does hits them alike. A build is a
// folder with main.js (build the variant, copy dist/ elsewhere, and give it a node_modules link).
// For each read scenario and build: req/s, server CPU per request (from /proc), p99; and each
// build's time and CPU per request as a ratio to the first build's: the median of the rounds'
// ratios and their range. Writes bench/compare-results.json.
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { arg, start, load, freshDatabase, serviceEnv, DATABASES, ADMIN } = require('./run');
const { seedSqlite, seedPostgres } = require('./seed');

const BUILDS = arg('builds', '').split(',').filter(Boolean);
const ROWS = Number(arg('rows', '100000'));
const DURATION = Number(arg('duration', '12'));
const ROUNDS = Number(arg('rounds', '6'));
const TICK_US = 1e6 / 100; // /proc's clock ticks (USER_HZ)

/** The CPU time a process has used, in microseconds. */
function cpuUs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime + stime
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function compareOn(kind) {
  const dir = mkdtempSync(join(tmpdir(), 'fd-compare-'));
  const database = await freshDatabase(kind, dir);
  const env = serviceEnv(database.url);
  const servers = [];
  try {
    await (await start(join(BUILDS[0], 'main.js'), env)).stop(); // migrates
    if (kind === 'postgres') await seedPostgres(database.url, ROWS);
    else await seedSqlite(database.url.slice('sqlite:'.length), ROWS);
    for (const build of BUILDS) servers.push(await start(join(build, 'main.js'), env));
    const headers = { authorization: `Bearer ${ADMIN}` };
    const api = (server) => `${server.base}/api/v1`;
    const list = await (
      await fetch(`${api(servers[0])}/deployments?per_page=100`, { headers })
    ).json();
    const cycle = (prefix, values) => {
      let i = 0;
      return (req) => ({ ...req, path: `${prefix}${values[i++ % values.length]}` });
    };
    const ids = list.deployments.map((d) => d.id);
    const operationIds = list.deployments.map((d) => d.operation_id);
    const scenarios = [
      [
        'GET /deployments/{id}',
        (s) => ({ url: s.base, requests: [{ setupRequest: cycle('/api/v1/deployments/', ids) }] }),
      ],
      [
        'GET /operations/{id}',
        (s) => ({
          url: s.base,
          requests: [{ setupRequest: cycle('/api/v1/operations/', operationIds) }],
        }),
      ],
      [
        'GET /deployments?service&environment',
        (s) => ({ url: `${api(s)}/deployments?service=svc-7&environment=production` }),
      ],
      ['GET /deployments (no query)', (s) => ({ url: `${api(s)}/deployments` })],
    ].map(([title, options]) => ({
      title,
      options: servers.map((s) => ({ headers, ...options(s) })),
    }));
    for (const { options } of scenarios) for (const o of options) await load(o, 2); // unmeasured
    const results = [];
    for (const { title, options } of scenarios) {
      const runs = BUILDS.map(() => []);
      for (let round = 0; round < ROUNDS; round++) {
        // Each round in the other order, so neither build always follows the other.
        const order = BUILDS.map((_, i) => i);
        if (round % 2 === 1) order.reverse();
        for (const i of order) {
          const before = cpuUs(servers[i].pid);
          const run = await load(options[i], DURATION / ROUNDS);
          runs[i].push({ ...run, cpuUs: cpuUs(servers[i].pid) - before });
        }
      }
      const perRequest = (r) => ({ time: r.seconds / r.requests, cpu: r.cpuUs / r.requests });
      const sum = (rs, key) => rs.reduce((n, r) => n + r[key], 0);
      results.push({
        scenario: title,
        builds: runs.map((rs, i) => {
          const ratios = (key) =>
            rs.map((r, k) => perRequest(r)[key] / perRequest(runs[0][k])[key]);
          const range = (values) =>
            [Math.min(...values), Math.max(...values)].map((v) => +v.toFixed(2));
          return {
            build: BUILDS[i],
            requests_per_second: Math.round(sum(rs, 'requests') / sum(rs, 'seconds')),
            cpu_us_per_request: Math.round(sum(rs, 'cpuUs') / sum(rs, 'requests')),
            p99_ms_median: median(rs.map((r) => r.p99)),
            p99_ms_worst: Math.max(...rs.map((r) => r.p99)),
            time_ratio: +median(ratios('time')).toFixed(3),
            time_ratio_range: range(ratios('time')),
            cpu_ratio: +median(ratios('cpu')).toFixed(3),
            cpu_ratio_range: range(ratios('cpu')),
            errors: sum(rs, 'errors'),
          };
        }),
      });
    }
    return { database: kind, rows: ROWS, results };
  } finally {
    for (const s of servers) await s.stop();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  if (BUILDS.length < 2)
    throw new Error('--builds takes two or more folders with main.js, comma-separated');
  BUILDS.splice(0, BUILDS.length, ...BUILDS.map((b) => resolve(b)));
  const runs = [];
  for (const kind of DATABASES) runs.push(await compareOn(kind));
  console.log(
    `\nBuilds loaded in turns on Node ${process.version}, ${ROWS} rows, ${DURATION}s each in ${ROUNDS} turns; ratios to ${BUILDS[0]} (median of turns, range)`,
  );
  for (const run of runs) {
    console.log(`== ${run.database}`);
    console.table(
      run.results.flatMap((r) =>
        r.builds.map((b, i) => ({
          scenario: i === 0 ? r.scenario : '',
          build: b.build.split('/').slice(-2).join('/'),
          'req/s': b.requests_per_second,
          'CPU µs/req': b.cpu_us_per_request,
          'p99 ms (median/worst)': `${b.p99_ms_median}/${b.p99_ms_worst}`,
          'time ×': i === 0 ? '' : `${b.time_ratio} (${b.time_ratio_range.join('–')})`,
          'CPU ×': i === 0 ? '' : `${b.cpu_ratio} (${b.cpu_ratio_range.join('–')})`,
          errors: b.errors,
        })),
      ),
    );
  }
  const results = {
    at: new Date().toISOString(),
    node: process.version,
    builds: BUILDS,
    duration_seconds: DURATION,
    rounds: ROUNDS,
    runs,
  };
  writeFileSync(join(__dirname, 'compare-results.json'), `${JSON.stringify(results, null, 2)}\n`);
}

module.exports = { main };
