import { randomBytes, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import { ServerProcess, startServerProcess } from './helpers/server-process';
import { createTestDatabase, TestDatabase } from './helpers/test-database';
import {
  ADMIN_KEY,
  bearer,
  eventually,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const DRIVERS = writeDriversConfig(`
environments:
  slow: { driver: simulated, duration_ms: 60000 }
  shaky: { driver: simulated, duration_ms: 200, fail_versions: '^bad' }
  flaky: { driver: simulated, duration_ms: 100, fail_versions: '^bad' }
`);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        labels[key] = value;
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/** The value of the sample with this name and (at least) these labels; undefined when absent. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  return samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

/** Asserts a response is the contract's error body. */
function expectErrorBody(res: Response, status: number, error: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body.message).toEqual(expect.any(String));
  expect(res.body.timestamp).toMatch(RFC3339);
  expect(res.body.request_id).toBe(res.headers['x-request-id']);
}

describe('Observability (e2e)', () => {
  describe('GET /metrics', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ FLIGHTDECK_CONFIG: DRIVERS });
    });

    afterAll(async () => {
      await t.close();
    });

    const scrape = async () => {
      const res = await t.http().get('/metrics');
      expect(res.status).toBe(200);
      return { res, samples: parseMetrics(res.text) };
    };

    it('should be public and answer Prometheus text', async () => {
      const { res, samples } = await scrape();

      expect(res.text).toContain('# TYPE flightdeck_http_request_duration_seconds histogram');
      expect(res.text).toContain('# TYPE flightdeck_operation_duration_seconds histogram');
      expect(res.text).toContain('# TYPE flightdeck_operations_queued gauge');
      expect(res.text).toContain('# TYPE flightdeck_rollouts_total counter');
      expect(samples.length).toBeGreaterThan(0);
    });

    it('should answer GET /metrics as text/plain; version=0.0.4 (the Prometheus text format)', async () => {
      const { res } = await scrape();
      expect(res.headers['content-type']).toMatch(/^text\/plain;/);
      expect(res.headers['content-type']).toContain('version=0.0.4');
    });

    it('should time requests by route pattern and status, never by raw path', async () => {
      const deployment = await deployAndWait(t, {
        service: uniqueService('metrics'),
        version: '1',
      });
      for (let i = 0; i < 3; i++) {
        const res = await t
          .http()
          .get(`/api/v1/deployments/${deployment.id}`)
          .set(bearer(ADMIN_KEY));
        expect(res.status).toBe(200);
      }
      const missing = randomUUID();
      expect(
        (await t.http().get(`/api/v1/deployments/${missing}`).set(bearer(ADMIN_KEY))).status,
      ).toBe(404);
      const nowhere = `nowhere-${randomBytes(6).toString('hex')}`;
      expect((await t.http().get(`/${nowhere}`)).status).toBe(404);

      const { res, samples } = await scrape();

      const count = (route: string, status: string) =>
        valueOf(samples, 'flightdeck_http_request_duration_seconds_count', {
          method: 'GET',
          route,
          status,
        });
      expect(count('/api/v1/deployments/:id', '200')).toBeGreaterThanOrEqual(3);
      expect(count('/api/v1/deployments/:id', '404')).toBeGreaterThanOrEqual(1);
      expect(
        valueOf(samples, 'flightdeck_http_request_duration_seconds_bucket', {
          method: 'GET',
          route: '/api/v1/deployments/:id',
          status: '200',
          le: '+Inf',
        }),
      ).toBeGreaterThanOrEqual(3);
      expect(
        valueOf(samples, 'flightdeck_http_request_duration_seconds_sum', {
          route: '/api/v1/deployments/:id',
        }),
      ).toBeGreaterThan(0);
      for (const raw of [deployment.id, missing, nowhere]) expect(res.text).not.toContain(raw);
    });

    it('should count finished rollouts by environment, kind and outcome', async () => {
      const service = uniqueService('count');
      await deployAndWait(t, { service, version: '1', environment: 'observed' });
      const second = await deployAndWait(t, { service, version: '2', environment: 'observed' });
      const rollback = await t
        .http()
        .post(`/api/v1/deployments/${second.id}/rollback`)
        .set(bearer(ADMIN_KEY))
        .send({});
      await waitForOperation(t, rollback.body.operation_id);
      await deployAndWait(t, { service, version: 'bad-1', environment: 'flaky' });

      const { samples } = await scrape();
      const count = (labels: Record<string, string>) =>
        samples.find(
          (x) =>
            x.name === 'flightdeck_rollouts_total' &&
            Object.entries(labels).every(([k, v]) => x.labels[k] === v),
        )?.value;
      expect(count({ environment: 'observed', kind: 'rollout', outcome: 'successful' })).toBe(2);
      expect(count({ environment: 'observed', kind: 'rollback', outcome: 'successful' })).toBe(1);
      expect(count({ environment: 'flaky', kind: 'rollout', outcome: 'failed' })).toBe(1);
    });

    it('should observe how long operations take, by type and outcome', async () => {
      const failedBefore =
        valueOf((await scrape()).samples, 'flightdeck_operation_duration_seconds_count', {
          type: 'deployment.rollout',
          outcome: 'failed',
        }) ?? 0;
      await deployAndWait(t, { service: uniqueService('dur'), version: '1' });
      const failed = await deployAndWait(t, {
        service: uniqueService('dur'),
        version: 'bad-1',
        environment: 'shaky',
      });
      expect(failed.status).toBe('failed');

      const { samples } = await scrape();

      const succeeded = { type: 'deployment.rollout', outcome: 'succeeded' };
      const failedLabels = { type: 'deployment.rollout', outcome: 'failed' };
      const count = 'flightdeck_operation_duration_seconds_count';
      expect(valueOf(samples, count, succeeded)).toBeGreaterThanOrEqual(1);
      expect(valueOf(samples, count, failedLabels)).toBe(failedBefore + 1);
      expect(
        valueOf(samples, 'flightdeck_operation_duration_seconds_sum', succeeded),
      ).toBeGreaterThan(0);
      expect(
        valueOf(samples, 'flightdeck_operation_duration_seconds_bucket', {
          ...succeeded,
          le: '+Inf',
        }),
      ).toBe(valueOf(samples, count, succeeded));
    });

    it('should show the queue depth: pending and running operations', async () => {
      const created = await requestDeployment(t, {
        service: uniqueService('queued'),
        version: '1',
        environment: 'slow',
      });
      expect(created.status).toBe(201);
      await eventually(async () => {
        const op = await t
          .http()
          .get(`/api/v1/operations/${created.body.operation_id}`)
          .set(bearer(ADMIN_KEY));
        return op.body.status === 'running';
      });

      const during = (await scrape()).samples;
      await t
        .http()
        .post(`/api/v1/operations/${created.body.operation_id}/cancel`)
        .set(bearer(ADMIN_KEY));
      await waitForOperation(t, created.body.operation_id);
      const after = (await scrape()).samples;

      expect(valueOf(during, 'flightdeck_operations_queued', { status: 'running' })).toBe(1);
      expect(valueOf(during, 'flightdeck_operations_queued', { status: 'pending' })).toBe(0);
      expect(valueOf(after, 'flightdeck_operations_queued', { status: 'running' })).toBe(0);
      expect(valueOf(after, 'flightdeck_operations_queued', { status: 'pending' })).toBe(0);
    });
  });

  describe('GET /metrics with FLIGHTDECK_METRICS_TOKEN', () => {
    const token = `metrics-${randomBytes(16).toString('hex')}`;
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ FLIGHTDECK_METRICS_TOKEN: token });
    });

    afterAll(async () => {
      await t.close();
    });

    it('should answer 401 in the error shape without the token, or with another one', async () => {
      const refused = [
        await t.http().get('/metrics'),
        await t
          .http()
          .get('/metrics')
          .set(bearer(`${token}x`)),
        await t
          .http()
          .get('/metrics')
          .set(bearer(token.slice(0, -1))),
        await t.http().get('/metrics').set(bearer(ADMIN_KEY)),
        await t.http().get('/metrics').set('Authorization', token),
      ];

      for (const res of refused) {
        expectErrorBody(res, 401, 'authentication_error');
        expect(res.text).not.toContain('flightdeck_http_request_duration_seconds');
        expect(res.text).not.toContain(token);
      }
    });

    it('should answer the metrics with Authorization: Bearer <token>', async () => {
      const res = await t.http().get('/metrics').set(bearer(token));

      expect(res.status).toBe(200);
      expect(res.text).toContain('flightdeck_http_request_duration_seconds');
    });
  });

  describe('security headers and CORS', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp();
    });

    afterAll(async () => {
      await t.close();
    });

    it('should send helmet headers and no X-Powered-By, on answers and on errors', async () => {
      const answers = [
        await t.http().get('/healthz'),
        await t.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY)),
        await t.http().get('/api/v1/deployments'),
        await t.http().get('/nowhere'),
        await t.http().post('/api/v1/deployments').set(bearer(ADMIN_KEY)).send({}),
      ];

      expect(answers.map((r) => r.status)).toEqual([200, 200, 401, 404, 400]);
      for (const res of answers) {
        expect(res.headers['x-powered-by']).toBeUndefined();
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['content-security-policy']).toEqual(expect.any(String));
        // Plain-HTTP installations must keep a working Swagger UI.
        expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
        expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
        expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      }
    });

    it('should not answer CORS by default, not even for a preflight', async () => {
      const simple = await t
        .http()
        .get('/api/v1/auth/whoami')
        .set(bearer(ADMIN_KEY))
        .set('Origin', 'https://ui.example');
      const preflight = await t
        .http()
        .options('/api/v1/deployments')
        .set('Origin', 'https://ui.example')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,content-type');

      expect(simple.status).toBe(200);
      for (const res of [simple, preflight]) {
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(res.headers['access-control-allow-methods']).toBeUndefined();
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      }
    });

    it('should allow the configured origin only (FLIGHTDECK_CORS_ORIGINS)', async () => {
      const cors = await startTestApp({ FLIGHTDECK_CORS_ORIGINS: 'https://ui.example' });
      try {
        const preflight = (origin: string) =>
          cors
            .http()
            .options('/api/v1/deployments')
            .set('Origin', origin)
            .set('Access-Control-Request-Method', 'POST')
            .set('Access-Control-Request-Headers', 'authorization,content-type');

        const allowed = await preflight('https://ui.example');
        const other = await preflight('https://evil.example');
        const simple = await cors
          .http()
          .get('/api/v1/auth/whoami')
          .set(bearer(ADMIN_KEY))
          .set('Origin', 'https://ui.example');
        const otherSimple = await cors
          .http()
          .get('/api/v1/auth/whoami')
          .set(bearer(ADMIN_KEY))
          .set('Origin', 'https://evil.example');

        expect(allowed.status).toBeLessThan(300);
        expect(allowed.headers['access-control-allow-origin']).toBe('https://ui.example');
        expect(allowed.headers['access-control-allow-methods']).toMatch(/POST/);
        expect(allowed.headers['access-control-allow-headers']?.toLowerCase()).toMatch(
          /authorization/,
        );
        expect(other.headers['access-control-allow-origin']).toBeUndefined();
        expect(simple.headers['access-control-allow-origin']).toBe('https://ui.example');
        const exposed = (simple.headers['access-control-expose-headers'] ?? '').toLowerCase();
        for (const name of ['x-request-id', 'retry-after', 'ratelimit-remaining', 'location'])
          expect(exposed).toContain(name);
        expect(otherSimple.headers['access-control-allow-origin']).toBeUndefined();
      } finally {
        await cors.close();
      }
    });

    it('should answer /readyz with the database and the queue up', async () => {
      const res = await t.http().get('/readyz');

      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok', checks: { database: 'up', queue: 'up' } });
    });
  });

  describe('structured logs of the real service', () => {
    let database: TestDatabase;
    let server: ServerProcess;

    beforeAll(async () => {
      database = await createTestDatabase();
      server = await startServerProcess({
        ...database.env,
        FLIGHTDECK_LOG_LEVEL: 'info',
        FLIGHTDECK_CONFIG: DRIVERS, // 'slow', for the aborted long-poll
      });
    });

    afterAll(async () => {
      if (server && server.child.exitCode === null) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      await database.drop();
    });

    it('should write one JSON line per request with its id, key id, status and latency, and no secret', async () => {
      const base = server.base;
      const call = async (path: string, init: RequestInit = {}) => {
        const res = await fetch(base + path, init);
        const text = await res.text();
        return { status: res.status, requestId: res.headers.get('x-request-id')!, text };
      };
      const json = { 'content-type': 'application/json' };

      const whoami = await call('/api/v1/auth/whoami', { headers: bearer(ADMIN_KEY) });
      const adminId = JSON.parse(whoami.text).id as string;
      const created = await call('/api/v1/auth/keys', {
        method: 'POST',
        headers: { ...bearer(ADMIN_KEY), ...json },
        body: JSON.stringify({
          name: 'logged',
          permissions: ['deployments:read'],
          environments: ['*'],
        }),
      });
      const key = JSON.parse(created.text) as { id: string; secret: string };
      expect(key.secret).toMatch(/^fdk_/);
      const asKey = await call('/api/v1/deployments', { headers: bearer(key.secret) });
      const forbidden = await call('/api/v1/deployments', {
        method: 'POST',
        headers: { ...bearer(key.secret), ...json },
        body: JSON.stringify({ service: 'x', version: '1', environment: 'staging' }),
      });
      const sentId = `client-${randomUUID()}`;
      const withOwnId = await call('/api/v1/auth/whoami', {
        headers: { ...bearer(ADMIN_KEY), 'X-Request-Id': sentId },
      });
      const madeUp = `fdk_${randomBytes(32).toString('base64url')}`;
      const unauthenticated = await call('/api/v1/deployments', { headers: bearer(madeUp) });

      const expected = [
        { res: whoami, status: 200, key_id: adminId },
        { res: created, status: 201, key_id: adminId },
        { res: asKey, status: 200, key_id: key.id },
        { res: forbidden, status: 403, key_id: key.id },
        { res: withOwnId, status: 200, key_id: adminId },
        { res: unauthenticated, status: 401, key_id: undefined },
      ];
      expect(expected.map((e) => e.res.status)).toEqual(expected.map((e) => e.status));
      expect(withOwnId.requestId).toBe(sentId);

      const linesFor = (requestId: string) =>
        server
          .output()
          .split('\n')
          .filter((line) => line.includes(requestId));
      await eventually(
        () => Promise.resolve(expected.every((e) => linesFor(e.res.requestId).length > 0)),
        10_000,
      );

      for (const { res, status, key_id } of expected) {
        const lines = linesFor(res.requestId);
        expect({ requestId: res.requestId, lines: lines.length }).toEqual({
          requestId: res.requestId,
          lines: 1,
        });
        const entry = JSON.parse(lines[0]) as Record<string, any>;
        expect(entry.req.id).toBe(res.requestId);
        expect(entry.res.status).toBe(status);
        expect(entry.key_id).toBe(key_id);
        expect(typeof entry.responseTime).toBe('number');
        expect(entry.responseTime).toBeGreaterThanOrEqual(0);
        expect(typeof entry.level).toBe('number');
        expect(typeof entry.time).toBe('number');
      }

      const output = server.output();
      const lines = output.split('\n').filter((line) => line.trim() !== '');
      for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
      expect(output).not.toContain(ADMIN_KEY);
      expect(output).not.toContain(key.secret);
      expect(output).not.toContain(madeUp);
      expect(output).not.toContain('Bearer ');
    });

    it('should log a URL with every query value as ***, so a secret sent in a query string never reaches the log', async () => {
      const base = server.base;
      const secrets = [
        ADMIN_KEY,
        `tok_${randomUUID()}`,
        `fdk_${randomBytes(32).toString('base64url')}`,
      ];
      const sent = [
        {
          path: `/api/v1/deployments?api_key=${secrets[0]}&token=${secrets[1]}&service=pay`,
          logged: '/api/v1/deployments?api_key=***&token=***&service=***',
        },
        { path: `/api/v1/auth/whoami?${secrets[2]}`, logged: '/api/v1/auth/whoami?***' },
        { path: `/nowhere?access_token=${secrets[1]}#x`, logged: '/nowhere?access_token=***' },
      ];

      const ids: string[] = [];
      for (const { path } of sent) {
        const res = await fetch(base + path, { headers: bearer(ADMIN_KEY) });
        await res.text();
        ids.push(res.headers.get('x-request-id')!);
      }

      const lineOf = (id: string) =>
        server
          .output()
          .split('\n')
          .find((line) => line.includes(id));
      await eventually(() => Promise.resolve(ids.every((id) => lineOf(id) !== undefined)), 10_000);
      expect(
        ids.map((id) => (JSON.parse(lineOf(id)!) as { req: { url: string } }).req.url),
      ).toEqual(sent.map((s) => s.logged));
      for (const secret of secrets) expect(server.output()).not.toContain(secret);
    });

    it('should log a request the client gave up on as aborted', async () => {
      // A slow rollout to long-poll on.
      const base = server.base;
      const json = { 'content-type': 'application/json' };
      const deployed = await fetch(`${base}/api/v1/deployments`, {
        method: 'POST',
        headers: { ...bearer(ADMIN_KEY), ...json },
        body: JSON.stringify({ service: uniqueService('left'), version: '1', environment: 'slow' }),
      });
      const { operation_id } = (await deployed.json()) as { operation_id: string };
      const requestId = `left-${randomUUID()}`;
      const leaving = new AbortController();
      const poll = fetch(`${base}/api/v1/operations/${operation_id}?wait=30`, {
        headers: { ...bearer(ADMIN_KEY), 'X-Request-Id': requestId },
        signal: leaving.signal,
      }).catch((error: unknown) => error);
      setTimeout(() => leaving.abort(), 300);
      expect(await poll).toMatchObject({ name: 'AbortError' });

      const lineOf = () =>
        server
          .output()
          .split('\n')
          .find((line) => line.includes(requestId));
      await eventually(() => Promise.resolve(lineOf() !== undefined), 10_000);
      const entry = JSON.parse(lineOf()!) as Record<string, any>;
      expect(entry).toMatchObject({ msg: 'request aborted', req: { id: requestId } });
    });

    it('should not log at info how Nest wires itself up (modules loaded, routes mapped)', () => {
      const entries = server
        .output()
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as { level: number; context?: string; msg: string });
      expect(entries).toContainEqual(
        expect.objectContaining({
          level: 30,
          context: 'Bootstrap',
          msg: expect.stringMatching(/^Flightdeck listening on/),
        }),
      );
      const wiring = entries.filter((entry) =>
        ['InstanceLoader', 'RoutesResolver', 'RouterExplorer'].includes(entry.context ?? ''),
      );
      expect(wiring).toEqual([]);
    });
  });

  describe('readable logs (FLIGHTDECK_LOG_FORMAT=pretty, as on a terminal)', () => {
    it('should write lines a person reads: time, level, [context] message; a request as method, path, status, time', async () => {
      const database = await createTestDatabase();
      const server = await startServerProcess({
        ...database.env,
        FLIGHTDECK_LOG_LEVEL: 'info',
        FLIGHTDECK_LOG_FORMAT: 'pretty',
        NO_COLOR: '1',
      });
      try {
        const res = await fetch(`${server.base}/api/v1/auth/whoami`, {
          headers: bearer(ADMIN_KEY),
        });
        expect(res.status).toBe(200);
        const request = /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/api\/v1\/auth\/whoami 200 \d+ ms$/;
        const lines = () => server.output().split('\n');
        await eventually(() => Promise.resolve(lines().some((line) => request.test(line))), 10_000);

        expect(lines()).toContainEqual(
          expect.stringMatching(
            /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[Bootstrap\] Flightdeck listening on http:\/\/127\.0\.0\.1:\d+ /,
          ),
        );
        expect(lines().filter((line) => line.startsWith('{'))).toEqual([]);
        expect(server.output()).not.toContain(ADMIN_KEY);
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
        await database.drop();
      }
    });
  });
});
