// Scale-out check (run by .ci/run): two replicas on PostgreSQL + Redis/BullMQ.
// - 200 rollouts across both replicas with a command driver that appends to a file: each runs once;
// - SSE works through the replica that did not run the operation;
// - killing a replica mid-rollout leaves no operation `running`.
// Prints rollouts/s and p50/p99 time to start. Needs `npm run build` first.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import pg from 'pg';
import { Queue } from 'bullmq';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PG_URL = process.env.SCALE_OUT_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.SCALE_OUT_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROLLOUTS = Number(process.env.SCALE_OUT_ROLLOUTS ?? 200);
const LEASE_MS = 3000;
const ADMIN = `fdk_scale_${randomBytes(16).toString('hex')}`;
const RUN = `fd_scale_${randomBytes(5).toString('hex')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push(true);
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (error) {
    results.push(false);
    console.log(`FAIL ${name}: ${error.message}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startReplica(name, env) {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    if (await fetch(`${base}/readyz`).then((r) => r.ok).catch(() => false)) return { name, base, child, pid: child.pid };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`replica ${name} did not start:\n${output.slice(-2000)}`);
}

const api = (base) => async (method, path, body) => {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
};

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main() {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${RUN}`);
  const dbUrl = new URL(PG_URL);
  dbUrl.pathname = `/${RUN}`;
  const db = new pg.Client({ connectionString: dbUrl.toString() });

  const dir = mkdtempSync(join(tmpdir(), 'fd-scale-'));
  const ranFile = join(dir, 'ran.txt');
  writeFileSync(ranFile, '');
  const script = join(ROOT, 'test', 'scale-out', 'append-deployment.sh');
  const config = join(dir, 'flightdeck.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      default: { driver: 'command', command: [script], env: { SCALE_OUT_FILE: ranFile, SCALE_OUT_STEP_SECONDS: '0.025' } },
      environments: {
        medium: { driver: 'command', command: [script], env: { SCALE_OUT_FILE: join(dir, 'medium.txt'), SCALE_OUT_STEP_SECONDS: '0.4' } },
        slow: { driver: 'command', command: [script], env: { SCALE_OUT_FILE: join(dir, 'slow.txt'), SCALE_OUT_STEP_SECONDS: '1.5' } },
      },
    }),
  );
  const env = {
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    FLIGHTDECK_QUEUE_PREFIX: RUN,
    FLIGHTDECK_ADMIN_KEY: ADMIN,
    FLIGHTDECK_CONFIG: config,
    FLIGHTDECK_OPERATION_LEASE_MS: String(LEASE_MS),
    FLIGHTDECK_WORKER_CONCURRENCY: '25',
    FLIGHTDECK_RATE_LIMIT_PER_MINUTE: '0',
  };
  // Start one replica first so the migrations run once, then the second.
  const a = await startReplica('A', env);
  const b = await startReplica('B', env);
  await db.connect();
  const replicas = [a, b];
  const replicaOf = (runnerId) => replicas.find((r) => runnerId?.split(':')[1] === String(r.pid));

  try {
    await check(`${ROLLOUTS} rollouts across two replicas each run exactly once`, async () => {
      const t0 = Date.now();
      const ids = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (next < ROLLOUTS) {
            const i = next++;
            const call = api(replicas[i % 2].base);
            const r = await call('POST', '/api/v1/deployments', { service: `scale-${i}`, version: '1.0.0', environment: 'production' });
            assert(r.status === 201, `POST /deployments answered ${r.status}: ${JSON.stringify(r.body)}`);
            ids.push(r.body.id);
          }
        }),
      );
      const accepted = Date.now();
      let rows;
      for (let i = 0; i < 600; i++) {
        rows = (await db.query(`SELECT status, count(*)::int AS n FROM operations GROUP BY status`)).rows;
        const done = rows.filter((r) => ['succeeded', 'failed', 'cancelled'].includes(r.status)).reduce((s, r) => s + r.n, 0);
        if (done >= ROLLOUTS) break;
        await sleep(200);
      }
      const finished = Date.now();
      const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      assert(byStatus.succeeded === ROLLOUTS, `statuses: ${JSON.stringify(byStatus)}`);
      const lines = readFileSync(ranFile, 'utf8').trim().split('\n');
      const counts = new Map();
      for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
      assert(lines.length === ROLLOUTS, `the deploy script ran ${lines.length} times for ${ROLLOUTS} rollouts`);
      assert(ids.every((id) => counts.get(id) === 1), 'some deployment ran more or less than once');
      const ops = (
        await db.query(`SELECT created_at, started_at, finished_at, runner_id FROM operations WHERE status = 'succeeded'`)
      ).rows;
      const toStart = ops.map((o) => Date.parse(o.started_at) - Date.parse(o.created_at)).sort((x, y) => x - y);
      const perReplica = replicas.map((r) => `${r.name}: ${ops.filter((o) => replicaOf(o.runner_id) === r).length}`);
      assert(replicas.every((r) => ops.some((o) => replicaOf(o.runner_id) === r)), `both replicas should run rollouts (${perReplica})`);
      console.log(`     accepted ${ROLLOUTS} in ${accepted - t0} ms (${((ROLLOUTS * 1000) / (accepted - t0)).toFixed(0)} req/s)`);
      console.log(`     all finished in ${finished - t0} ms: ${((ROLLOUTS * 1000) / (finished - t0)).toFixed(1)} rollouts/s`);
      console.log(`     time to start: p50 ${percentile(toStart, 50)} ms, p99 ${percentile(toStart, 99)} ms`);
      console.log(`     ran per replica: ${perReplica.join(', ')}`);
    });

    await check('SSE through the replica that did not run the operation', async () => {
      const created = await api(a.base)('POST', '/api/v1/deployments', { service: 'scale-sse', version: '1', environment: 'medium' });
      assert(created.status === 201, `create answered ${created.status}`);
      const opId = created.body.operation_id;
      let runner;
      for (let i = 0; i < 100 && !runner; i++) {
        runner = (await db.query('SELECT runner_id FROM operations WHERE id = $1', [opId])).rows[0]?.runner_id;
        if (!runner) await sleep(20);
      }
      const ranOn = replicaOf(runner);
      assert(ranOn, `no runner recorded for ${opId}`);
      const other = ranOn === a ? b : a;
      const res = await fetch(`${other.base}/api/v1/operations/${opId}/events`, { headers: { authorization: `Bearer ${ADMIN}` } });
      assert(res.status === 200, `events answered ${res.status}`);
      const text = await res.text();
      const events = text.split('\n\n').map((block) => /^event: (\w+)/m.exec(block)?.[1]).filter(Boolean);
      assert(events.includes('end'), `no end event: ${events}`);
      assert(events.includes('log'), `no log event: ${events}`);
      assert(events.includes('progress'), `no progress event: ${events}`);
      const end = JSON.parse(/event: end\ndata: (.*)/.exec(text)[1]);
      assert(end.status === 'succeeded', `ended ${end.status}`);
      console.log(`     ran on ${ranOn.name}, streamed from ${other.name}: ${events.length} events (${[...new Set(events)].join(', ')})`);
    });

    await check('killing a replica mid-rollout leaves no operation running', async () => {
      const ids = [];
      for (let i = 0; i < 8; i++) {
        const r = await api(replicas[i % 2].base)('POST', '/api/v1/deployments', { service: `scale-kill-${i}`, version: '1', environment: 'slow' });
        assert(r.status === 201, `create answered ${r.status}`);
        ids.push(r.body.operation_id);
      }
      let running = [];
      for (let i = 0; i < 100; i++) {
        running = (await db.query(`SELECT id, runner_id FROM operations WHERE id = ANY($1) AND status = 'running'`, [ids])).rows;
        if (running.length === ids.length) break;
        await sleep(50);
      }
      const onA = running.filter((o) => replicaOf(o.runner_id) === a).length;
      a.child.kill('SIGKILL');
      const killedAt = Date.now();
      let rows = [];
      for (let i = 0; i < 300; i++) {
        rows = (await db.query(`SELECT status, error_code FROM operations WHERE id = ANY($1)`, [ids])).rows;
        if (rows.every((r) => r.status !== 'running' && r.status !== 'pending')) break;
        await sleep(100);
      }
      const summary = rows.reduce((m, r) => ({ ...m, [`${r.status}${r.error_code ? `/${r.error_code}` : ''}`]: (m[`${r.status}${r.error_code ? `/${r.error_code}` : ''}`] ?? 0) + 1 }), {});
      assert(rows.every((r) => r.status !== 'running' && r.status !== 'pending'), `still unfinished: ${JSON.stringify(summary)}`);
      console.log(`     ${onA} of ${ids.length} were running on the killed replica; all settled ${Date.now() - killedAt} ms after the kill: ${JSON.stringify(summary)}`);
    });
  } finally {
    for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await db.end().catch(() => {});
    await sleep(300);
    await admin.query(`DROP DATABASE IF EXISTS ${RUN} WITH (FORCE)`).catch(() => {});
    await admin.end();
    const url = new URL(REDIS_URL);
    const queue = new Queue('operations', { connection: { host: url.hostname, port: Number(url.port || 6379) }, prefix: RUN });
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  const passed = results.filter(Boolean).length;
  console.log(`scale-out: ${passed} passed, ${results.length - passed} failed`);
  process.exit(passed === results.length ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
