// npm run build && node bench/pg-statements.js [--queries 3000] [--rounds 8]   (docs/decisions/007)
// PostgreSQL statements named (prepared once per pooled connection) against unnamed (parsed and
// planned every time), in turns on one pg pool: the filtered list's page with its total, and a read
// by id. Counts Node's and PostgreSQL's CPU per statement (every postgres process, from /proc), as
// both share the machine.
const { readdirSync, readFileSync } = require('node:fs');
const { Pool } = require('pg');
const { arg, start, freshDatabase, serviceEnv } = require('./run');
const { seedPostgres } = require('./seed');

const QUERIES = Number(arg('queries', '3000'));
const ROUNDS = Number(arg('rounds', '8'));
const CONCURRENCY = 10;
const COLUMNS =
  '"id", "service", "version", "environment", "status", "description", "created_by", "created_by_key_id", "created_at", "started_at", "finished_at", "operation_id", "rollback_of"';
const STATEMENTS = {
  'filtered list page and total': {
    text: `SELECT ${COLUMNS}, (SELECT COALESCE(SUM("count"), 0) FROM "deployment_counts" WHERE "service" = $1 AND "environment" = $2) FROM "deployments" WHERE "service" = $3 AND "environment" = $4 ORDER BY "created_at" DESC, "id" DESC LIMIT $5`,
    values: () => ['svc-7', 'production', 'svc-7', 'production', 51],
  },
  'rows by id': {
    text: `SELECT ${COLUMNS} FROM "deployments" WHERE "id" = ANY($1)`,
    values: (i, ids) => [[ids[i % ids.length]]],
  },
};

/** CPU time of every postgres process, in microseconds. */
function postgresCpuUs() {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.split(') ')[1].split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * 1e4;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

async function main() {
  const db = await freshDatabase('postgres');
  const pool = new Pool({ connectionString: db.url, max: CONCURRENCY });
  try {
    await (await start('dist/main.js', serviceEnv(db.url))).stop(); // migrates
    await seedPostgres(db.url, 100_000);
    const ids = (await pool.query('SELECT id FROM deployments LIMIT 100')).rows.map((r) => r.id);
    const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
    for (const [title, statement] of Object.entries(STATEMENTS)) {
      const turns = { named: [], unnamed: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const kind of round % 2 ? ['named', 'unnamed'] : ['unnamed', 'named']) {
          let i = 0;
          const node0 = process.cpuUsage();
          const pg0 = postgresCpuUs();
          const runOne = async () => {
            while (i++ < QUERIES) {
              const query = {
                text: statement.text,
                values: statement.values(i, ids),
                rowMode: 'array',
              };
              await pool.query(
                kind === 'named' ? { ...query, name: title.replace(/ /g, '_') } : query,
              );
            }
          };
          await Promise.all(Array.from({ length: CONCURRENCY }, runOne));
          const node = process.cpuUsage(node0);
          turns[kind].push({
            node: (node.user + node.system) / QUERIES,
            pg: (postgresCpuUs() - pg0) / QUERIES,
          });
        }
      }
      const cpu = (kind, side) => median(turns[kind].map((t) => t[side])).toFixed(0);
      const ratio = median(
        turns.unnamed.map((t, k) => (t.node + t.pg) / (turns.named[k].node + turns.named[k].pg)),
      );
      console.log(
        `${title}: named ${cpu('named', 'node')} + ${cpu('named', 'pg')} µs, unnamed ${cpu('unnamed', 'node')} + ${cpu('unnamed', 'pg')} µs (Node + PostgreSQL CPU per statement); unnamed/named ×${ratio.toFixed(2)}`,
      );
    }
  } finally {
    await pool.end();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
