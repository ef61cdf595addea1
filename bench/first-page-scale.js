// npm run bench -- --scenario first-page-scale [-- --db sqlite,postgres] [-- --duration 10] [-- --rounds 5]
// The unfiltered first page (`GET /deployments`, its `total` included) on 10,000 and on 1,000,000
// seeded deployments: two services, one per size, loaded in turns with autocannon. Prints the time
// per request at 1M as a ratio to 10k (the target: at most 2x) and writes bench/scale-results.json.
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { arg, start, load, freshDatabase, serviceEnv, DATABASES, ADMIN } = require('./run');
const { seedSqlite, seedPostgres } = require('./seed');

const SIZES = [10_000, 1_000_000];
const DURATION = Number(arg('duration', '10'));
const ROUNDS = Number(arg('rounds', '5'));

/** A migrated database of `kind` seeded with `rows` deployments (no operations), and a service on it. */
async function serve(kind, rows) {
  const dir = mkdtempSync(join(tmpdir(), 'fd-scale-'));
  const database = await freshDatabase(kind, dir);
  const env = serviceEnv(database.url);
  await (await start('dist/main.js', env)).stop(); // migrates
  const seeded = Date.now();
  if (kind === 'postgres') await seedPostgres(database.url, rows, { operations: false });
  else await seedSqlite(database.url.slice('sqlite:'.length), rows, { operations: false });
  const seedSeconds = (Date.now() - seeded) / 1000;
  const server = await start('dist/main.js', env);
  const url = `${server.base}/api/v1/deployments`;
  const answer = await (await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
  if (answer.total !== rows || answer.deployments.length !== 50)
    throw new Error(
      `${kind} with ${rows} rows: total ${answer.total}, ${answer.deployments.length} items`,
    );
  return {
    rows,
    seedSeconds,
    load: (seconds) => load({ url, headers: { authorization: `Bearer ${ADMIN}` } }, seconds),
    stop: async () => {
      await server.stop();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function scale(kind) {
  const services = [];
  try {
    for (const rows of SIZES) services.push(await serve(kind, rows));
    for (const s of services) await s.load(2); // unmeasured: V8 compiles the hot code
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) {
      const small = await services[0].load(DURATION / ROUNDS);
      const large = await services[1].load(DURATION / ROUNDS);
      rounds.push({ small, large });
    }
    const rate = (r) => r.requests / r.seconds;
    const ratios = rounds.map((r) => rate(r.small) / rate(r.large)).sort((a, b) => a - b);
    const sum = (side) =>
      rounds.reduce((n, r) => n + r[side].requests, 0) /
      rounds.reduce((t, r) => t + r[side].seconds, 0);
    return {
      database: kind,
      seed_seconds: services.map((s) => s.seedSeconds),
      requests_per_second: { '10k': Math.round(sum('small')), '1M': Math.round(sum('large')) },
      p50_ms: {
        '10k': rounds.map((r) => r.small.p50).sort((a, b) => a - b)[ROUNDS >> 1],
        '1M': rounds.map((r) => r.large.p50).sort((a, b) => a - b)[ROUNDS >> 1],
      },
      // Time per request at 1M over 10k: the median of the rounds' ratios, and their range.
      ratio_1m_to_10k: +ratios[ratios.length >> 1].toFixed(2),
      ratio_range: [+ratios[0].toFixed(2), +ratios[ratios.length - 1].toFixed(2)],
      errors: rounds.reduce((n, r) => n + r.small.errors + r.large.errors, 0),
    };
  } finally {
    for (const s of services) await s.stop();
  }
}

async function main() {
  const results = [];
  for (const kind of DATABASES) results.push(await scale(kind));
  console.log(
    `\nUnfiltered first page (GET /deployments, 50 items and total), 10,000 vs 1,000,000 rows, ${DURATION}s each in ${ROUNDS} turns`,
  );
  console.table(
    results.map((r) => ({
      database: r.database,
      'req/s 10k': r.requests_per_second['10k'],
      'req/s 1M': r.requests_per_second['1M'],
      'p50 ms 10k': r.p50_ms['10k'],
      'p50 ms 1M': r.p50_ms['1M'],
      '1M / 10k (time)': r.ratio_1m_to_10k,
      range: r.ratio_range.join('–'),
      'seed s': r.seed_seconds.join(' + '),
      errors: r.errors,
    })),
  );
  for (const r of results)
    console.log(
      `  ${r.ratio_1m_to_10k <= 2 && r.errors === 0 ? 'met   ' : 'MISSED'} ${r.database}: 1M within 2x of 10k: ${r.ratio_1m_to_10k}x`,
    );
  writeFileSync(
    join(__dirname, 'scale-results.json'),
    `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`,
  );
}

module.exports = { main };
