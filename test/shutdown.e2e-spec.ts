import { request as httpRequest, ClientRequest } from 'node:http';
import { connect } from 'node:net';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { Deployment } from '../src/deployments/deployment.entity';
import { uniqueService } from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import { ServerProcess, startServerProcess } from './helpers/server-process';
import { createTestDatabase, TestDatabase } from './helpers/test-database';
import { ADMIN_KEY, eventually, sleep, startTestApp, TestApp } from './helpers/test-app';

const SLOW = writeDriversConfig(`
environments:
  slow: { driver: simulated, duration_ms: 60000 }
`);
const GRACE_MS = 5000;
const LONG_POLLS = 40;
const POSTS = 10;
const WAIT_SECONDS = 3;

interface Answer {
  status: number;
  body: string;
  ms: number;
}

/**
 * One request on a connection of its own (no keep-alive pool), so each is in flight on its own
 * socket. The returned `request` may still take body bytes; `answer` settles when the response ends.
 */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string | number> = {},
): { request: ClientRequest; answer: Promise<Answer>; written: Promise<void> } {
  const started = Date.now();
  const url = new URL(path, base);
  const request = httpRequest(url, {
    method,
    agent: false,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, ...headers },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode!, body, ms: Date.now() - started }));
    });
  });
  // Headers go out at once; a request with a body stays open until the body is ended.
  const written = new Promise<void>((resolve) => {
    request.flushHeaders();
    request.on('socket', (socket) =>
      socket.connecting ? socket.once('connect', () => resolve()) : resolve(),
    );
  });
  return { request, answer, written };
}

/** Whether a new TCP connection to the port is accepted or refused. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('Graceful shutdown (e2e)', () => {
  let database: TestDatabase;
  let server: ServerProcess | undefined;
  let t: TestApp | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    if (t) await t.close({ keepDatabase: true });
    await database.drop();
  });

  it('should finish all 50 requests in flight at SIGTERM, refuse new connections, and exit 0 in bounded time', async () => {
    server = await startServerProcess({
      ...database.env,
      FLIGHTDECK_CONFIG: SLOW,
      FLIGHTDECK_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    const { base } = server;
    const port = Number(new URL(base).port);

    // A rollout that will not finish on its own for a minute: the long-polls wait on it.
    const slow = send(base, 'POST', '/api/v1/deployments', { 'content-type': 'application/json' });
    slow.request.end(
      JSON.stringify({ service: uniqueService('slow'), version: '1', environment: 'slow' }),
    );
    const slowAnswer = await slow.answer;
    expect(slowAnswer.status).toBe(201);
    const operationId = (JSON.parse(slowAnswer.body) as { operation_id: string }).operation_id;

    const polls = Array.from({ length: LONG_POLLS }, () =>
      send(base, 'GET', `/api/v1/operations/${operationId}?wait=${WAIT_SECONDS}`),
    );
    for (const poll of polls) poll.request.end();
    // POSTs whose body is only half sent when SIGTERM arrives, and finished after it.
    const services = Array.from({ length: POSTS }, () => uniqueService('inflight'));
    const bodies = services.map((service) =>
      Buffer.from(JSON.stringify({ service, version: '1', environment: 'staging' })),
    );
    const posts = bodies.map((body) => {
      const post = send(base, 'POST', '/api/v1/deployments', {
        'content-type': 'application/json',
        'content-length': body.length,
      });
      post.request.write(body.subarray(0, 10));
      return post;
    });
    await Promise.all([...polls, ...posts].map((r) => r.written));
    await sleep(500); // the service has read every request and the long-polls are waiting

    const termAt = Date.now();
    server.child.kill('SIGTERM');
    await eventually(
      () => Promise.resolve(server!.output().includes('SIGTERM: no new connections')),
      5000,
    );
    const afterTerm = await tryConnect(port);
    for (const [i, post] of posts.entries()) post.request.end(bodies[i].subarray(10));

    const settled = await Promise.allSettled([...polls, ...posts].map((r) => r.answer));
    const exit = await server.exited;
    const exitedAfterMs = Date.now() - termAt;

    const failures = settled.flatMap((s, i) =>
      s.status === 'rejected' ? [`request ${i}: ${String(s.reason)}`] : [],
    );
    expect(failures).toEqual([]);
    const answers = settled.map((s) => (s as PromiseFulfilledResult<Answer>).value);
    expect(answers.map((a) => a.status)).toEqual([
      ...Array<number>(LONG_POLLS).fill(200),
      ...Array<number>(POSTS).fill(201),
    ]);
    for (const poll of answers.slice(0, LONG_POLLS)) {
      // Each waited out its long-poll instead of being cut short.
      expect(poll.ms).toBeGreaterThanOrEqual(WAIT_SECONDS * 1000 - 100);
      expect(JSON.parse(poll.body)).toMatchObject({ id: operationId, status: 'running' });
    }
    expect(afterTerm).toBe('ECONNREFUSED');
    expect(exit).toBe(0);
    expect(exitedAfterMs).toBeLessThan(20_000);

    // Nothing the POSTs did was lost: each deployment is there, ran, and was audited.
    t = await startTestApp({ FLIGHTDECK_CONFIG: SLOW }, database);
    const deployments = await t.dataSource
      .getRepository(Deployment)
      .find({ where: services.map((service) => ({ service })) });
    expect(deployments.map((d) => d.service).sort()).toEqual([...services].sort());
    for (const d of deployments) expect(d.status).toBe('successful');
    const audited = await t.dataSource
      .getRepository(AuditEvent)
      .countBy({ action: 'POST /api/v1/deployments', status: 201 });
    expect(audited).toBe(POSTS + 1);
  });
});
