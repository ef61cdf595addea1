import { createKey } from './factories/keys';
import { ADMIN_KEY, bearer, sleep, startTestApp, TestApp } from './helpers/test-app';

/**
 * The requirement: a revoked key stops working on every replica once the other replicas' cache
 * entry lapses (about a second). Tests assert no timings (the machine is shared): the wait below
 * only bounds how long the test looks before failing.
 */
const LOOK_FOR_MS = 10_000;

describe('API key cache across instances (e2e)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({}, a.database);
  });

  afterAll(async () => {
    await b.close({ keepDatabase: true });
    await a.close();
  });

  const whoami = (t: TestApp, secret: string) =>
    t.http().get('/api/v1/auth/whoami').set(bearer(secret));

  it('should refuse on instance B, once its cache entry lapses, a key revoked through instance A', async () => {
    const key = await createKey(a, {
      name: 'revoked-elsewhere',
      permissions: ['deployments:read'],
    });
    // B has the key in its cache, fresh, just before the revoke.
    const before = await whoami(b, key.secret);
    expect(before.status).toBe(200);
    expect(before.body.id).toBe(key.id);

    const revoked = await a.http().delete(`/api/v1/auth/keys/${key.id}`).set(bearer(ADMIN_KEY));
    expect(revoked.status).toBe(204);
    const revokedAt = Date.now();
    expect((await whoami(a, key.secret)).status).toBe(401);

    let refused = false;
    while (Date.now() - revokedAt < LOOK_FOR_MS) {
      const res = await whoami(b, key.secret);
      if (res.status === 401) {
        refused = true;
        expect(res.body.error).toBe('authentication_error');
        expect(res.body.message).toMatch(/revoked/);
        break;
      }
      expect(res.status).toBe(200);
      await sleep(25);
    }

    expect(refused).toBe(true);
    // And it stays refused, on both.
    await sleep(200);
    expect((await whoami(b, key.secret)).status).toBe(401);
    expect((await whoami(a, key.secret)).status).toBe(401);
    expect((await b.http().get('/api/v1/deployments').set(bearer(key.secret))).status).toBe(401);
  });

  it('should refuse a key on the instance that revoked it from the moment the revoke answers, even with lookups racing it', async () => {
    for (let trial = 0; trial < 10; trial++) {
      const key = await createKey(a, { name: `raced-${trial}`, permissions: ['deployments:read'] });
      // Lookups in flight before and while the revoke runs, some with a cold cache.
      const lookup = (delayMs: number) =>
        sleep(delayMs).then(() => whoami(a, key.secret).then((res) => res.status));
      const before = [lookup(0), lookup(0)];
      const revoking = a
        .http()
        .delete(`/api/v1/auth/keys/${key.id}`)
        .set(bearer(ADMIN_KEY))
        .then((res) => res.status);
      const during = [0, 1, 2, 3, 5, 8].map(lookup);
      expect(await revoking).toBe(204);
      await Promise.all([...before, ...during]);

      const after = await whoami(a, key.secret);
      expect(after.status).toBe(401);
      expect(after.body.message).toMatch(/revoked/);
    }
  });

  it('should refuse on instance B a key made by a key revoked through instance A, while B still has it cached', async () => {
    const parent = await createKey(a, { permissions: ['keys:manage', 'deployments:read'] });
    expect((await whoami(b, parent.secret)).status).toBe(200); // cached on B from now on

    await a.http().delete(`/api/v1/auth/keys/${parent.id}`).set(bearer(ADMIN_KEY)).expect(204);
    const res = await b
      .http()
      .post('/api/v1/auth/keys')
      .set(bearer(parent.secret))
      .send({ name: 'made-after-revoke', permissions: ['deployments:read'], environments: ['*'] });

    // Created, the new key would outlive its revoked creator.
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('authentication_error');
    expect(res.body.message).toMatch(/revoked/);
    const list = await a.http().get('/api/v1/auth/keys?per_page=100').set(bearer(ADMIN_KEY));
    expect(list.body.keys.map((k: { name: string }) => k.name)).not.toContain('made-after-revoke');
  });
});
