// npm run bench -- --scenario first-page-scale [-- --db sqlite,postgres] [-- --duration 10] [-- --rounds 5]
// First pages whose cost must not grow with the number of deployments, on 10,000 and on 1,000,000
// seeded deployments over the same 5,000 services and environments (1,250 services x 4; the newest
// deployment of every tenth pair in progress): the unfiltered `GET /deployments` (its `total`
// included) and `GET /state`. Two services, one per size, loaded in turns with autocannon. Prints
// each one's time per request at 1M as a ratio to 10k (the target: at most 2x) and writes
// bench/scale-results.json.
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { arg, start, load, freshDatabase, serviceEnv, DATABASES, ADMIN } = require('./run');
const { seedSqlite, seedPostgres, ENVIRONMENTS } = require('./seed');

const SIZES = [10_000, 1_000_000];
const SERVICES = 1250;
const PAIRS = SERVICES * ENVIRONMENTS.length;
const DURATION = Number(arg('duration', '10'));
const ROUNDS = Number(arg('rounds', '5'));
const HEADERS = { authorization: `Bearer ${ADMIN}` };

/** Each page measured, and what its first answer must hold on `rows` deployments. */
const PAGES = [
  {
    name: 'GET /deployments',
    path: '/api/v1/deployments',
    check: (body, rows) => body.total === rows && body.deployments.length === 50,
  },
  {
    name: 'GET /state',
    path: '/api/v1/state',
    check: (body) =>
      body.total === PAIRS &&
      body.state.length === 50 &&
      body.state.every((row) => row.current) &&
      body.state.some((row) => row.in_flight?.progress === 50),
  },
];

/** A migrated database of `kind` seeded with `rows` deployments (no operations), and a service on it. */
async function serve(kind, rows) {
  const dir = mkdtempSync(join(tmpdir(), 'fd-scale-'));
  const database = await freshDatabase(kind, dir);
  const env = serviceEnv(database.url);
  await (await start('dist/main.js', env)).stop(); // migrates
  const seeded = Date.now();
  const spread = { operations: false, services: SERVICES, inFlight: true };
  if (kind === 'postgres') await seedPostgres(database.url, rows, spread);
  else await seedSqlite(database.url.slice('sqlite:'.length), rows, spread);
  const seedSeconds = (Date.now() - seeded) / 1000;
  const server = await start('dist/main.js', env);
  for (const page of PAGES) {
    const answer = await (await fetch(`${server.base}${page.path}`, { headers: HEADERS })).json();
    if (!page.check(answer, rows))
      throw new Error(`${kind} with ${rows} rows, ${page.name}: ${JSON.stringify(answer).slice(0, 400)}`);
  }
  return {
    rows,
    seedSeconds,
    load: (page, seconds) => load({ url: `${server.base}${page.path}`, headers: HEADERS }, seconds),
    stop: async () => {
      await server.stop();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One page on both sizes, in turns: requests per second, p50, and 1M's time per request over 10k's. */
async function measure(services, page) {
  for (const s of services) await s.load(page, 2); // unmeasured: V8 compiles the hot code
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const small = await services[0].load(page, DURATION / ROUNDS);
    const large = await services[1].load(page, DURATION / ROUNDS);
    rounds.push({ small, large });
  }
  const rate = (r) => r.requests / r.seconds;
  const ratios = rounds.map((r) => rate(r.small) / rate(r.large)).sort((a, b) => a - b);
  const sum = (side) =>
    rounds.reduce((n, r) => n + r[side].requests, 0) /
    rounds.reduce((t, r) => t + r[side].seconds, 0);
  const median = (side) => rounds.map((r) => r[side].p50).sort((a, b) => a - b)[ROUNDS >> 1];
  return {
    page: page.name,
    requests_per_second: { '10k': Math.round(sum('small')), '1M': Math.round(sum('large')) },
    p50_ms: { '10k': median('small'), '1M': median('large') },
    // Time per request at 1M over 10k: the median of the rounds' ratios, and their range.
    ratio_1m_to_10k: +ratios[ratios.length >> 1].toFixed(2),
    ratio_range: [+ratios[0].toFixed(2), +ratios[ratios.length - 1].toFixed(2)],
    errors: rounds.reduce((n, r) => n + r.small.errors + r.large.errors, 0),
  };
}

async function scale(kind) {
  const services = [];
  try {
    for (const rows of SIZES) services.push(await serve(kind, rows));
    const pages = [];
    for (const page of PAGES) pages.push(await measure(services, page));
    return { database: kind, seed_seconds: services.map((s) => s.seedSeconds), pages };
  } finally {
    for (const s of services) await s.stop();
  }
}

async function main() {
  const results = [];
  for (const kind of DATABASES) results.push(await scale(kind));
  console.log(
    `\nFirst pages (50 items and total), 10,000 vs 1,000,000 deployments over ${PAIRS} services and environments, ${DURATION}s each in ${ROUNDS} turns`,
  );
  const lines = results.flatMap((r) => r.pages.map((p) => ({ database: r.database, ...p, seed: r.seed_seconds })));
  console.table(
    lines.map((l) => ({
      database: l.database,
      page: l.page,
      'req/s 10k': l.requests_per_second['10k'],
      'req/s 1M': l.requests_per_second['1M'],
      'p50 ms 10k': l.p50_ms['10k'],
      'p50 ms 1M': l.p50_ms['1M'],
      '1M / 10k (time)': l.ratio_1m_to_10k,
      range: l.ratio_range.join('–'),
      'seed s': l.seed.join(' + '),
      errors: l.errors,
    })),
  );
  for (const l of lines)
    console.log(
      `  ${l.ratio_1m_to_10k <= 2 && l.errors === 0 ? 'met   ' : 'MISSED'} ${l.database} ${l.page}: 1M within 2x of 10k: ${l.ratio_1m_to_10k}x`,
    );
  writeFileSync(
    join(__dirname, 'scale-results.json'),
    `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`,
  );
}

module.exports = { main };
