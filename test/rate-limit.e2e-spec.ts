import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { Deployment, DeploymentStatus } from '../src/deployments/deployment.entity';
import { requestDeployment, uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import { ADMIN_KEY, bearer, eventually, startTestApp, TestApp } from './helpers/test-app';

const LIMIT = 5;
const LIMITED = { FLIGHTDECK_RATE_LIMIT_PER_MINUTE: String(LIMIT) };
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const madeUpKey = () => `fdk_${randomBytes(32).toString('base64url')}`;

/** A whole number of seconds within the one-minute window. */
function expectSecondsWithinMinute(value: string | undefined): void {
  expect(value).toMatch(/^\d+$/);
  expect(Number(value)).toBeGreaterThanOrEqual(1);
  expect(Number(value)).toBeLessThanOrEqual(60);
}

/** A normal answer carries the budget: limit, what is left of it, and when it resets. */
function expectBudget(res: Response, remaining: number): void {
  expect({
    limit: res.headers['ratelimit-limit'],
    remaining: res.headers['ratelimit-remaining'],
  }).toEqual({ limit: String(LIMIT), remaining: String(remaining) });
  expectSecondsWithinMinute(res.headers['ratelimit-reset']);
}

/** `429 rate_limited` in the contract's error body, with `Retry-After` in seconds. */
function expectRateLimited(res: Response): void {
  expect({ status: res.status, error: res.body.error }).toEqual({
    status: 429,
    error: 'rate_limited',
  });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(
    expect.arrayContaining(['error', 'message', 'request_id', 'timestamp']),
  );
  expect(
    Object.keys(res.body).every((k) =>
      ['error', 'message', 'request_id', 'timestamp', 'details'].includes(k),
    ),
  ).toBe(true);
  expect(res.body.message).toEqual(expect.any(String));
  expect(res.body.timestamp).toMatch(RFC3339);
  expect(res.body.request_id).toBe(res.headers['x-request-id']);
  expectSecondsWithinMinute(res.headers['retry-after']);
  // The budget headers, like every other answer: nothing left, and when it comes back.
  expectBudget(res, 0);
  expect(res.headers['ratelimit-reset']).toBe(res.headers['retry-after']);
}

describe('Rate limits (e2e)', () => {
  let t: TestApp;

  afterEach(async () => {
    await t.close();
  });

  describe(`with FLIGHTDECK_RATE_LIMIT_PER_MINUTE=${LIMIT}`, () => {
    beforeEach(async () => {
      t = await startTestApp(LIMITED);
    });

    it("should refuse a key's 6th request within the minute, counted across routes, with 429 rate_limited", async () => {
      const key = await createKey(t, {
        permissions: ['deployments:read', 'deployments:create', 'operations:read'],
      });
      const service = uniqueService('rl');
      const as = bearer(key.secret);

      const answers: Response[] = [];
      answers.push(await t.http().get('/api/v1/auth/whoami').set(as));
      answers.push(await t.http().get('/api/v1/deployments').set(as));
      answers.push(await requestDeployment(t, { service, version: '1' }, key.secret));
      const deploymentId = answers[2].body.id;
      answers.push(await t.http().get(`/api/v1/deployments/${deploymentId}`).set(as));
      answers.push(await t.http().get('/api/v1/operations').set(as));
      const sixth = await t.http().get('/api/v1/deployments').set(as);
      const seventh = await requestDeployment(t, { service, version: '2' }, key.secret);

      expect(answers.map((r) => r.status)).toEqual([200, 200, 201, 200, 200]);
      answers.forEach((res, i) => expectBudget(res, LIMIT - 1 - i));
      expectRateLimited(sixth);
      expectRateLimited(seventh);
      expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(1);
      // The API budget is spent: wait for the rollout through the database before closing.
      await eventually(
        async () =>
          (await t.dataSource.getRepository(Deployment).findOneByOrFail({ id: deploymentId }))
            .status === DeploymentStatus.Successful,
      );
    });

    it('should count idempotent replays against the budget: the 6th request is a 429, replay or not', async () => {
      const key = await createKey(t, { permissions: ['deployments:create'] });
      const service = uniqueService('rl');
      const send = () =>
        t
          .http()
          .post('/api/v1/deployments')
          .set(bearer(key.secret))
          .set('Idempotency-Key', `rl-${service}`)
          .send({ service, version: '1', environment: 'staging' });

      const answers: Response[] = [];
      for (let i = 0; i < LIMIT; i++) answers.push(await send());
      const sixth = await send();

      expect(answers.map((r) => [r.status, r.headers['idempotent-replayed']])).toEqual([
        [201, undefined],
        ...Array(LIMIT - 1).fill([201, 'true']),
      ]);
      answers.forEach((res, i) => expectBudget(res, LIMIT - 1 - i));
      expectRateLimited(sixth);
      expect(sixth.headers['idempotent-replayed']).toBeUndefined();
      expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(1);
      await eventually(
        async () =>
          (await t.dataSource.getRepository(Deployment).findOneByOrFail({ service })).status ===
          DeploymentStatus.Successful,
      );
    });

    it('should give every key a budget of its own', async () => {
      const spent = await createKey(t, { permissions: ['deployments:read'] });
      const other = await createKey(t, { permissions: ['deployments:read'] });
      for (let i = 0; i < LIMIT; i++) {
        expect((await t.http().get('/api/v1/deployments').set(bearer(spent.secret))).status).toBe(
          200,
        );
      }
      expectRateLimited(await t.http().get('/api/v1/deployments').set(bearer(spent.secret)));

      const answers: Response[] = [];
      for (let i = 0; i < LIMIT; i++)
        answers.push(await t.http().get('/api/v1/deployments').set(bearer(other.secret)));
      const admin = await t.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY));

      expect(answers.map((r) => r.status)).toEqual(Array(LIMIT).fill(200));
      answers.forEach((res, i) => expectBudget(res, LIMIT - 1 - i));
      expectRateLimited(await t.http().get('/api/v1/deployments').set(bearer(other.secret)));
      // The admin key created both keys (2 requests) and is still within its own budget.
      expect(admin.status).toBe(200);
      expectBudget(admin, LIMIT - 3);
    });

    it('should limit requests without a valid key per client address, however the made-up key changes', async () => {
      const answers: Response[] = [];
      answers.push(await t.http().get('/api/v1/deployments'));
      answers.push(await t.http().post('/api/v1/deployments').send({}));
      for (let i = 0; i < 3; i++)
        answers.push(await t.http().get('/api/v1/operations').set(bearer(madeUpKey())));
      const sixth = await t.http().get('/api/v1/deployments').set(bearer(madeUpKey()));
      const seventh = await t.http().get('/api/v1/auth/whoami');
      const malformed = await t
        .http()
        .get('/api/v1/auth/whoami')
        .set('Authorization', 'Basic Zm9v');

      expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
      answers.forEach((res, i) => expectBudget(res, LIMIT - 1 - i));
      expectRateLimited(sixth);
      expectRateLimited(seventh);
      expectRateLimited(malformed);
      // A valid key from the same address still has its own budget.
      const admin = await t.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY));
      expect(admin.status).toBe(200);
      expectBudget(admin, LIMIT - 1);
    });

    it('should never limit /healthz and /readyz, nor count them against a budget', async () => {
      const probes: Response[] = [];
      for (let i = 0; i < 3 * LIMIT; i++) {
        probes.push(await t.http().get('/healthz'));
        probes.push(await t.http().get('/readyz'));
        probes.push(await t.http().get('/healthz').set(bearer(ADMIN_KEY)));
      }

      expect(probes.filter((r) => r.status !== 200)).toEqual([]);
      for (const res of probes) expect(res.headers['ratelimit-limit']).toBeUndefined();
      const anonymous = await t.http().get('/api/v1/deployments');
      expect(anonymous.status).toBe(401);
      expectBudget(anonymous, LIMIT - 1);
      const admin = await t.http().get('/api/v1/deployments').set(bearer(ADMIN_KEY));
      expect(admin.status).toBe(200);
      expectBudget(admin, LIMIT - 1);
    });
  });

  it("should turn limiting off with '0': 50 quick requests all pass", async () => {
    t = await startTestApp({ FLIGHTDECK_RATE_LIMIT_PER_MINUTE: '0' });

    const answers = await Promise.all([
      ...Array.from({ length: 40 }, (_, i) =>
        t
          .http()
          .get(i % 2 ? '/api/v1/deployments' : '/api/v1/auth/whoami')
          .set(bearer(ADMIN_KEY)),
      ),
      ...Array.from({ length: 10 }, () => t.http().get('/api/v1/deployments')),
    ]);

    expect(answers.map((r) => r.status)).toEqual([
      ...Array<number>(40).fill(200),
      ...Array<number>(10).fill(401),
    ]);
    for (const res of answers) expect(res.headers['ratelimit-limit']).toBeUndefined();
  });

  it('should allow 1200 requests per minute per key by default', async () => {
    // An empty value is no value: the default applies.
    t = await startTestApp({ FLIGHTDECK_RATE_LIMIT_PER_MINUTE: '' });

    const res = await t.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY));

    expect(res.status).toBe(200);
    expect(res.headers['ratelimit-limit']).toBe('1200');
    expect(res.headers['ratelimit-remaining']).toBe('1199');
  });
});

// Sharing the budget between replicas needs Redis; without REDIS_URL there is nothing to share it through.
if (process.env.REDIS_URL) {
  describe('Rate limits across instances on one Redis (e2e)', () => {
    it('should share one budget between two instances: 3 requests on one and 3 on the other make the 6th a 429', async () => {
      const a = await startTestApp(LIMITED);
      const b = await startTestApp(LIMITED, a.database);
      try {
        const onA: Response[] = [];
        const onB: Response[] = [];
        for (let i = 0; i < 3; i++)
          onA.push(await a.http().get('/api/v1/deployments').set(bearer(ADMIN_KEY)));
        for (let i = 0; i < 3; i++)
          onB.push(await b.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY)));

        expect(onA.map((r) => r.status)).toEqual([200, 200, 200]);
        expect(onB.slice(0, 2).map((r) => r.status)).toEqual([200, 200]);
        [...onA, ...onB.slice(0, 2)].forEach((res, i) => expectBudget(res, LIMIT - 1 - i));
        expectRateLimited(onB[2]);
        expectRateLimited(await a.http().get('/api/v1/deployments').set(bearer(ADMIN_KEY)));
      } finally {
        await b.close({ keepDatabase: true });
        await a.close();
      }
    });
  });
} else {
  console.info(
    'rate-limit.e2e-spec: REDIS_URL is not set, so "two instances share one budget through Redis" is not run',
  );
}
