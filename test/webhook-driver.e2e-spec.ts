import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import { freePort } from './helpers/server-process';
import { TestDatabase } from './helpers/test-database';
import {
  ADMIN_KEY,
  bearer,
  eventually,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived, for checking the signature. */
  raw: string;
  body: Record<string, any>;
}

type Reply = (res: ServerResponse, attempt: number) => void;

const SECRET_ENV = `FD_E2E_HOOK_SECRET_${randomBytes(4).toString('hex').toUpperCase()}`;
const SECRET = randomBytes(24).toString('hex');
/** A secret some receivers take in the URL's query. */
const URL_TOKEN = `secret${randomBytes(6).toString('hex')}`;

/** Writes a drivers file and remembers its folder, removed at the end. */
const configFolders: string[] = [];
const driversFile = (content: string) => {
  const path = writeDriversConfig(content);
  configFolders.push(dirname(path));
  return path;
};

/** Answers after `ms`, unless the caller gave up first. */
const later =
  (ms: number, status = 200): Reply =>
  (res) => {
    const timer = setTimeout(() => res.writeHead(status).end('late'), ms);
    res.on('close', () => clearTimeout(timer));
  };

/** What the receiver answers on each path; `attempt` counts requests for the same deployment. */
const ROUTES: Record<string, Reply> = {
  '/ok': (res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}'),
  '/reject': (res) =>
    res
      .writeHead(422, { 'Content-Type': 'application/json' })
      .end('{"error":"version is not on the allow-list"}'),
  '/flaky': (res, attempt) =>
    attempt <= 2 ? res.writeHead(503).end('warming up') : res.writeHead(200).end('ok'),
  '/error': (res) => res.writeHead(500).end('deployer exploded'),
  '/slow-once': (res, attempt) => (attempt === 1 ? later(2500)(res, attempt) : res.end('ok')),
  '/slow': later(2500),
  '/hold': later(8000),
};

describe('webhook driver (e2e)', () => {
  let t: TestApp;
  let receiver: Server;
  let deliveries: Delivery[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const delivery = { path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) };
        deliveries.push(delivery);
        const attempt = deliveries.filter(
          (d) => d.body.deployment_id === delivery.body.deployment_id,
        ).length;
        const route = ROUTES[new URL(delivery.path, 'http://x').pathname];
        (route ?? ((r: ServerResponse) => r.writeHead(404).end()))(res, attempt);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    const closedPort = await freePort();

    process.env[SECRET_ENV] = SECRET;
    const hook = (path: string, extra = '') =>
      `{ driver: webhook, url: "${base}${path}", secret_env: ${SECRET_ENV}${extra} }`;
    const config = driversFile(`
environments:
  ok: ${hook('/ok', ', timeout_seconds: 5')}
  rejected: ${hook('/reject', ', retries: 3, backoff_ms: 50')}
  flaky: ${hook('/flaky', ', retries: 3, backoff_ms: 50')}
  broken: ${hook('/error', ', retries: 2, backoff_ms: 50')}
  slow-once: ${hook('/slow-once', ', timeout_seconds: 1, retries: 1, backoff_ms: 50')}
  slow: ${hook('/slow', ', timeout_seconds: 1, retries: 1, backoff_ms: 50')}
  hold: ${hook('/hold', ', timeout_seconds: 10, retries: 3, backoff_ms: 50')}
  unreachable: { driver: webhook, url: "http://127.0.0.1:${closedPort}/hook", secret_env: ${SECRET_ENV}, retries: 1, backoff_ms: 50 }
  token-rejected: ${hook(`/reject?token=${URL_TOKEN}`)}
  token-broken: ${hook(`/error?token=${URL_TOKEN}&team=web`, ', retries: 1, backoff_ms: 50')}
  token-unreachable: { driver: webhook, url: "http://127.0.0.1:${closedPort}/hook?token=${URL_TOKEN}", secret_env: ${SECRET_ENV}, retries: 1, backoff_ms: 50 }
`);
    t = await startTestApp({ FLIGHTDECK_CONFIG: config });
  });

  afterAll(async () => {
    await t?.close();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    delete process.env[SECRET_ENV];
    for (const folder of configFolders) rmSync(folder, { recursive: true, force: true });
  });

  beforeEach(() => {
    deliveries = [];
  });

  const deliveriesFor = (deploymentId: string) =>
    deliveries.filter((d) => d.body.deployment_id === deploymentId);
  const deploy = async (environment: string) => {
    const created = await requestDeployment(t, {
      service: uniqueService(environment),
      version: '1.2.3',
      environment,
    });
    expect(created.status).toBe(201);
    const op = await waitForOperation(t, created.body.operation_id);
    return { created: created.body, op };
  };
  const deploymentStatus = async (id: string) =>
    (await t.http().get(`/api/v1/deployments/${id}`).set(bearer(ADMIN_KEY))).body.status;

  describe('a receiver that answers 2xx', () => {
    it('should succeed with one signed POST the receiver can verify with the secret', async () => {
      const service = uniqueService('hook');
      const first = await deployAndWait(t, { service, version: '1.0.0', environment: 'ok' });
      const second = await deployAndWait(t, { service, version: '1.1.0', environment: 'ok' });

      expect(first.status).toBe('successful');
      expect(second.status).toBe('successful');
      const [delivery] = deliveriesFor(second.id);
      expect(deliveriesFor(second.id)).toHaveLength(1);
      expect(delivery.path).toBe('/ok');
      expect(delivery.headers['content-type']).toMatch(/^application\/json/);
      expect(delivery.body).toMatchObject({
        deployment_id: second.id,
        service,
        version: '1.1.0',
        environment: 'ok',
        previous_version: '1.0.0',
      });
      expect(deliveriesFor(first.id)[0].body).toMatchObject({
        deployment_id: first.id,
        version: '1.0.0',
        previous_version: null,
      });

      const signature = delivery.headers['x-flightdeck-signature'] as string;
      expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      const expected = `sha256=${createHmac('sha256', SECRET).update(delivery.raw).digest('hex')}`;
      expect(timingSafeEqual(Buffer.from(signature), Buffer.from(expected))).toBe(true);
      const forged = `sha256=${createHmac('sha256', 'wrong').update(delivery.raw).digest('hex')}`;
      expect(signature).not.toBe(forged);

      const op = await t
        .http()
        .get(`/api/v1/operations/${second.operation_id}`)
        .set(bearer(ADMIN_KEY));
      expect(op.body).toMatchObject({ status: 'succeeded', progress: 100, error: null });
    });
  });

  describe('a receiver that answers 4xx', () => {
    it('should fail at once with webhook_rejected, the status and an excerpt of the body', async () => {
      const { created, op } = await deploy('rejected');

      expect(op.status).toBe('failed');
      expect(op.error.code).toBe('webhook_rejected');
      expect(op.error.message).toContain('422');
      expect(op.error.message).toContain('version is not on the allow-list');
      expect(deliveriesFor(created.id)).toHaveLength(1);
      expect(await deploymentStatus(created.id)).toBe('failed');
    });
  });

  describe('a receiver that answers 5xx', () => {
    it('should retry 503 with backoff and succeed on the third request', async () => {
      const { created, op } = await deploy('flaky');

      expect(op.status).toBe('succeeded');
      expect(deliveriesFor(created.id)).toHaveLength(3);
      const signatures = deliveriesFor(created.id).map((d) => d.headers['x-flightdeck-signature']);
      expect(new Set(signatures).size).toBe(1);
      expect(await deploymentStatus(created.id)).toBe('successful');
    });

    it('should fail with webhook_failed after exactly retries + 1 requests when it keeps answering 500', async () => {
      const { created, op } = await deploy('broken');

      expect(op.status).toBe('failed');
      expect(op.error.code).toBe('webhook_failed');
      expect(op.error.message).toContain('500');
      expect(op.error.message).toContain('deployer exploded');
      expect(deliveriesFor(created.id)).toHaveLength(3);
      expect(await deploymentStatus(created.id)).toBe('failed');
    });
  });

  describe('a receiver that cannot be reached', () => {
    it('should fail with webhook_failed saying it could not be reached', async () => {
      const { created, op } = await deploy('unreachable');

      expect(op.status).toBe('failed');
      expect(op.error.code).toBe('webhook_failed');
      expect(op.error.message).toMatch(/could not be reached/);
      expect(op.error.message).toContain('ECONNREFUSED');
      expect(await deploymentStatus(created.id)).toBe('failed');
    });
  });

  describe('a URL with a secret in its query', () => {
    it.each([
      ['token-rejected', 'webhook_rejected', '/reject?token=***'],
      ['token-broken', 'webhook_failed', '/error?token=***&team=***'],
      ['token-unreachable', 'webhook_failed', '/hook?token=***'],
    ])(
      'should show it with query values as *** in logs, error and message (%s)',
      async (environment, code, shown) => {
        const { created, op } = await deploy(environment);

        expect(op).toMatchObject({ status: 'failed', error: { code } });
        expect(op.error.message).toContain(shown);
        const logs = await t.http().get(`/api/v1/operations/${op.id}/logs`).set(bearer(ADMIN_KEY));
        expect(logs.status).toBe(200);
        expect(logs.body.lines.length).toBeGreaterThan(0);
        expect(logs.body.lines[0].text).toContain(shown);
        for (const shownToReaders of [JSON.stringify(op), logs.text, op.message]) {
          expect(shownToReaders).not.toContain(URL_TOKEN);
        }
        const deployment = await t
          .http()
          .get(`/api/v1/deployments/${created.id}`)
          .set(bearer(ADMIN_KEY));
        expect(deployment.text).not.toContain(URL_TOKEN);
      },
    );
  });

  describe('POST /api/v1/operations/{id}/cancel', () => {
    it('should abandon a request in flight and end cancelled, without retrying', async () => {
      const created = await requestDeployment(t, {
        service: uniqueService('hold'),
        version: '1',
        environment: 'hold',
      });
      await eventually(
        async () => Promise.resolve(deliveriesFor(created.body.id).length === 1),
        5000,
      );

      const cancelledAt = Date.now();
      const res = await t
        .http()
        .post(`/api/v1/operations/${created.body.operation_id}/cancel`)
        .set(bearer(ADMIN_KEY));
      expect(res.status).toBe(202);
      const op = await waitForOperation(t, created.body.operation_id);

      expect(op.status).toBe('cancelled');
      expect(Date.now() - cancelledAt).toBeLessThan(3000);
      expect(deliveriesFor(created.body.id)).toHaveLength(1);
      expect(await deploymentStatus(created.body.id)).toBe('cancelled');
    });
  });

  describe('timeout_seconds', () => {
    it('should give up on a request slower than the timeout and succeed on the retry', async () => {
      const started = Date.now();
      const { created, op } = await deploy('slow-once');

      expect(op.status).toBe('succeeded');
      expect(deliveriesFor(created.id)).toHaveLength(2);
      expect(Date.now() - started).toBeLessThan(2400);
    });

    it('should fail with webhook_failed when every request is slower than the timeout', async () => {
      const started = Date.now();
      const { created, op } = await deploy('slow');

      expect(op.status).toBe('failed');
      expect(op.error.code).toBe('webhook_failed');
      expect(op.error.message).toContain('did not answer within 1s');
      expect(deliveriesFor(created.id)).toHaveLength(2);
      expect(Date.now() - started).toBeLessThan(4500);
    });
  });

  describe('start-up with a bad drivers file', () => {
    // The drivers file is read while Nest builds the app, after the database connection has
    // started opening; a failed start leaves that connection to itself. An in-memory SQLite
    // database and no queue keep such leftovers from holding sockets or files of other tests.
    const db: TestDatabase = {
      url: 'sqlite::memory:',
      env: { DATABASE_URL: 'sqlite::memory:', REDIS_URL: '' },
      drop: () => Promise.resolve(),
    };

    const start = (environment: string) =>
      startTestApp({ FLIGHTDECK_CONFIG: driversFile(`environments:\n  ${environment}\n`) }, db);

    it('should refuse to start when the variable named by secret_env is not set, naming it', async () => {
      const unset = `FD_E2E_UNSET_${randomBytes(4).toString('hex').toUpperCase()}`;
      await expect(
        start(`prod: { driver: webhook, url: "http://127.0.0.1:1/hook", secret_env: ${unset} }`),
      ).rejects.toThrow(new RegExp(`environments\\.prod.*${unset}.*not set`));
    });

    it('should refuse to start with an unknown option, naming environments.<name>.<key>', async () => {
      await expect(
        start(
          `prod: { driver: webhook, url: "http://127.0.0.1:1/hook", secret_env: ${SECRET_ENV}, colour: blue }`,
        ),
      ).rejects.toThrow('environments.prod.colour is not a known option');
    });

    it('should refuse to start with credentials in the url, naming environments.<name>.url and not showing them', async () => {
      const failure = start(
        `prod: { driver: webhook, url: "https://deployer:hunter2@127.0.0.1:1/hook", secret_env: ${SECRET_ENV} }`,
      );
      await expect(failure).rejects.toThrow(
        /environments\.prod\.url: .*must not contain credentials/,
      );
      await expect(failure).rejects.not.toThrow('hunter2');
    });

    it('should refuse to start without a url, naming environments.<name>.url', async () => {
      await expect(start(`prod: { driver: webhook, secret_env: ${SECRET_ENV} }`)).rejects.toThrow(
        'environments.prod.url',
      );
    });
  });
});
