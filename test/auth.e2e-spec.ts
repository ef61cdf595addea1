import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { In, IsNull, Not } from 'typeorm';
import { ApiKey } from '../src/auth/api-key.entity';
import { ApiKeyLineage1764000000004 } from '../src/database/migrations/1764000000004-api-key-lineage';
import { grantV11Permissions } from '../src/database/migrations/1764000000008-locks-and-overrides';
import { DeploymentReview } from '../src/deployments/deployment-review.entity';
import { Deployment } from '../src/deployments/deployment.entity';
import { Freeze } from '../src/freezes/freeze.entity';
import { Lock } from '../src/locks/lock.entity';
import { Operation, OperationStatus } from '../src/operations/operation.entity';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import { takeLock } from './factories/locks';
import { writeDriversConfig } from './helpers/drivers-config';
import {
  ADMIN_KEY,
  bearer,
  sleep,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

/** The permissions the contract names, written out here rather than imported from the service. */
const V1_PERMISSIONS = [
  'deployments:read',
  'deployments:create',
  'deployments:rollback',
  'operations:read',
  'operations:cancel',
  'keys:manage',
  'audit:read',
];
const ALL_PERMISSIONS = [
  ...V1_PERMISSIONS,
  'locks:manage',
  'freezes:manage',
  'deployments:approve',
  'deployments:override',
  'webhooks:manage',
];

/** One field of every item of a list from a response body. */
const pluck = (items: Record<string, unknown>[], field: string) =>
  items.map((i) => String(i[field]));
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const sorted = (values: string[]) => [...values].sort();
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** A frame of a V8 stack trace (`at fn (/app/src/x.ts:12:5)` or `at /app/x.js:1:2`), or a source path. */
const STACK_TRACE = /\bat [^\s()]+ \([^)]*:\d+:\d+\)|\bat \/\S+:\d+:\d+|node_modules|\.[jt]s:\d+/;

/** Asserts a response is the contract's error body, with exactly its fields and no stack trace. */
function expectErrorBody(res: Response, status: number, error: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const keys = Object.keys(res.body).filter((k) => k !== 'details');
  expect(sorted(keys)).toEqual(['error', 'message', 'request_id', 'timestamp']);
  expect(typeof res.body.message).toBe('string');
  expect(res.body.message.length).toBeGreaterThan(0);
  expect(res.body.timestamp).toMatch(RFC3339);
  expect(Math.abs(Date.parse(res.body.timestamp) - Date.now())).toBeLessThan(60_000);
  expect(res.body.request_id).toBe(res.headers['x-request-id']);
  expect(res.text).not.toMatch(STACK_TRACE);
}

function expectUnauthenticated(res: Response): void {
  expectErrorBody(res, 401, 'authentication_error');
  expect(res.body.details).toBeUndefined();
}

function expectValidationError(res: Response, field: string): void {
  expectErrorBody(res, 400, 'validation_error');
  expect(Array.isArray(res.body.details.errors)).toBe(true);
  for (const e of res.body.details.errors) {
    expect(typeof e.field).toBe('string');
    expect(typeof e.message).toBe('string');
  }
  expect(pluck(res.body.details.errors, 'field')).toContain(field);
}

const inOneDay = () => new Date(Date.now() + 24 * 3600_000).toISOString();

describe('Auth (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Rollouts last long enough that a request made right after one starts finds it running.
    t = await startTestApp({
      FLIGHTDECK_SIMULATED_DURATION_MS: '600',
      // Rollouts to review-env wait for an approval (the review routes need one to act on).
      FLIGHTDECK_CONFIG: writeDriversConfig(`
default: { driver: simulated, duration_ms: 600 }
environments:
  review-env: { approvals: { required: 1 } }
`),
    });
  });

  afterAll(async () => {
    await t.close();
  });

  const keyRows = () => t.dataSource.getRepository(ApiKey);
  const whoami = (secret: string) => t.http().get('/api/v1/auth/whoami').set(bearer(secret));

  describe('GET /api/v1/auth/whoami', () => {
    it('should describe the admin key: every permission, every environment, no expiry', async () => {
      const res = await whoami(ADMIN_KEY);

      expect(res.status).toBe(200);
      expect(sorted(Object.keys(res.body))).toEqual(
        sorted(['id', 'name', 'prefix', 'permissions', 'environments', 'expires_at']),
      );
      const row = await keyRows().findOneByOrFail({ secretHash: sha256(ADMIN_KEY) });
      expect(res.body).toMatchObject({
        id: row.id,
        name: 'admin',
        environments: ['*'],
        expires_at: null,
      });
      expect(sorted(res.body.permissions)).toEqual(sorted(ALL_PERMISSIONS));
      expect(ADMIN_KEY.startsWith(res.body.prefix)).toBe(true);
      expect(res.body.prefix.length).toBeGreaterThan('fdk_'.length);
      expect(res.body.prefix.length).toBeLessThan(ADMIN_KEY.length / 2);
    });

    it('should describe a created key exactly as it was created', async () => {
      const expiresAt = inOneDay();
      const created = await t
        .http()
        .post('/api/v1/auth/keys')
        .set(bearer(ADMIN_KEY))
        .send({
          name: 'ci-payments',
          permissions: ['deployments:read', 'operations:read'],
          environments: ['staging', 'qa'],
          expires_at: expiresAt,
        });
      expect(created.status).toBe(201);

      const res = await whoami(created.body.secret);

      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: created.body.id,
        name: 'ci-payments',
        prefix: created.body.prefix,
        permissions: expect.any(Array),
        environments: expect.any(Array),
        expires_at: expiresAt,
      });
      expect(sorted(res.body.permissions)).toEqual(['deployments:read', 'operations:read']);
      expect(sorted(res.body.environments)).toEqual(['qa', 'staging']);
    });

    it('should answer any valid key, whatever its permissions', async () => {
      const key = await createKey(t, { permissions: ['audit:read'], environments: ['staging'] });
      const res = await whoami(key.secret);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: key.id, permissions: ['audit:read'] });
    });
  });

  describe('POST /api/v1/auth/keys', () => {
    const post = (body: unknown, secret = ADMIN_KEY) =>
      t
        .http()
        .post('/api/v1/auth/keys')
        .set(bearer(secret))
        .send(body as object);

    it('should create a key and show its high-entropy secret this once', async () => {
      const res = await post({
        name: 'deploy-bot',
        permissions: ['deployments:create'],
        environments: ['staging'],
      });

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.any(String),
        name: 'deploy-bot',
        permissions: ['deployments:create'],
        environments: ['staging'],
        expires_at: null,
        revoked_at: null,
      });
      expect(res.body.created_at).toMatch(RFC3339);
      const { secret, prefix } = res.body as { secret: string; prefix: string };
      expect(secret).toMatch(/^fdk_[\x21-\x7e]+$/);
      const random = secret.slice('fdk_'.length);
      expect(random.length).toBeGreaterThanOrEqual(32);
      expect(new Set(random).size).toBeGreaterThanOrEqual(16);
      expect(secret.startsWith(prefix)).toBe(true);
      expect(prefix.length).toBeGreaterThan('fdk_'.length);
      expect(prefix.length).toBeLessThan(secret.length / 2);

      const other = await post({
        name: 'deploy-bot',
        permissions: ['audit:read'],
        environments: ['*'],
      });
      expect(other.body.secret).not.toBe(secret);
      const otherSecret = String(other.body.secret);
      expect(otherSecret.slice(0, 12)).not.toBe(secret.slice(0, 12));
    });

    it('should make a key that works at once, with what it was granted', async () => {
      const created = await post({
        name: 'reader',
        permissions: ['deployments:read'],
        environments: ['staging'],
      });
      expect(created.status).toBe(201);

      const allowed = await t.http().get('/api/v1/deployments').set(bearer(created.body.secret));
      expect(allowed.status).toBe(200);
      const refused = await t.http().get('/api/v1/operations').set(bearer(created.body.secret));
      expectErrorBody(refused, 403, 'authorization_error');
    });

    it('should store only the SHA-256 hex hash of the secret, never the secret', async () => {
      const res = await post({ name: 'hashed', permissions: ['audit:read'], environments: ['*'] });
      expect(res.status).toBe(201);
      const { id, secret } = res.body as { id: string; secret: string };

      const row = await keyRows().findOneByOrFail({ id });
      expect(row.secretHash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.secretHash).toBe(sha256(secret));
      expect(row.prefix).toBe(res.body.prefix);
      const raw = await t.dataSource
        .createQueryBuilder()
        .select('*')
        .from('api_keys', 'k')
        .where('k.id = :id', { id })
        .getRawOne<Record<string, unknown>>();
      expect(Object.keys(raw!).length).toBeGreaterThan(3);
      for (const value of Object.values(raw!)) {
        expect(JSON.stringify(value) ?? '').not.toContain(secret);
        expect(JSON.stringify(value) ?? '').not.toContain(secret.slice(12));
      }
    });

    const valid = { name: 'k', permissions: ['deployments:read'], environments: ['*'] };
    it.each([
      { label: 'a missing name', field: 'name', body: { ...valid, name: undefined } },
      { label: 'an empty name', field: 'name', body: { ...valid, name: '' } },
      {
        label: 'a name over 100 characters',
        field: 'name',
        body: { ...valid, name: 'n'.repeat(101) },
      },
      {
        label: 'an unknown permission',
        field: 'permissions',
        body: { ...valid, permissions: ['deployments:destroy'] },
      },
      { label: 'empty permissions', field: 'permissions', body: { ...valid, permissions: [] } },
      {
        label: 'missing permissions',
        field: 'permissions',
        body: { ...valid, permissions: undefined },
      },
      {
        label: 'a bad environment name',
        field: 'environments',
        body: { ...valid, environments: ['Prod!'] },
      },
      { label: 'empty environments', field: 'environments', body: { ...valid, environments: [] } },
      {
        label: 'expires_at in the past',
        field: 'expires_at',
        body: { ...valid, expires_at: '2020-01-01T00:00:00.000Z' },
      },
      {
        label: 'expires_at that is not ISO 8601',
        field: 'expires_at',
        body: { ...valid, expires_at: 'tomorrow' },
      },
      { label: 'an unknown field', field: 'colour', body: { ...valid, colour: 'red' } },
    ])(
      'should refuse $label with 400 naming $field and create nothing',
      async ({ body, field }) => {
        const before = await keyRows().count();
        const res = await post(body);
        expectValidationError(res, field);
        expect(await keyRows().count()).toBe(before);
      },
    );

    it('should refuse to grant a permission the creating key does not hold', async () => {
      const creator = await createKey(t, {
        permissions: ['keys:manage', 'deployments:read'],
        environments: ['*'],
      });
      const before = await keyRows().count();

      const res = await post(
        {
          name: 'escalate',
          permissions: ['deployments:read', 'deployments:create'],
          environments: ['*'],
        },
        creator.secret,
      );

      expectErrorBody(res, 403, 'authorization_error');
      expect(await keyRows().count()).toBe(before);
      const allowed = await post(
        { name: 'subset', permissions: ['deployments:read'], environments: ['staging'] },
        creator.secret,
      );
      expect(allowed.status).toBe(201);
    });

    it('should refuse to grant an environment the creating key does not hold', async () => {
      const creator = await createKey(t, {
        permissions: ['keys:manage', 'deployments:read'],
        environments: ['staging'],
      });
      const before = await keyRows().count();

      for (const environments of [['production'], ['staging', 'production'], ['*']]) {
        const res = await post(
          { name: 'escalate', permissions: ['deployments:read'], environments },
          creator.secret,
        );
        expectErrorBody(res, 403, 'authorization_error');
      }

      expect(await keyRows().count()).toBe(before);
      const allowed = await post(
        { name: 'same-scope', permissions: ['deployments:read'], environments: ['staging'] },
        creator.secret,
      );
      expect(allowed.status).toBe(201);
      expect(allowed.body.environments).toEqual(['staging']);
    });
  });

  describe('GET /api/v1/auth/keys', () => {
    it('should list keys without any secret or hash', async () => {
      const created = await createKey(t, { name: 'listed', permissions: ['audit:read'] });

      const res = await t.http().get('/api/v1/auth/keys?per_page=100').set(bearer(ADMIN_KEY));

      expect(res.status).toBe(200);
      expect(sorted(Object.keys(res.body))).toEqual(
        sorted(['keys', 'total', 'page', 'per_page', 'next_cursor']),
      );
      const keys = res.body.keys as Record<string, any>[];
      const listed = keys.find((k) => k.id === created.id)!;
      expect(listed).toMatchObject({
        name: 'listed',
        prefix: created.secret.slice(0, listed.prefix.length),
        permissions: ['audit:read'],
        environments: ['*'],
        expires_at: null,
        revoked_at: null,
      });
      expect(res.body.total).toBe(await keyRows().count());
      expect(keys.length).toBe(Math.min(res.body.total, 100));
      for (const secret of [created.secret, ADMIN_KEY]) {
        expect(res.text).not.toContain(secret);
        expect(res.text).not.toContain(sha256(secret));
      }
      expect(res.text).not.toMatch(/[0-9a-f]{64}/i);
      for (const key of keys) {
        expect(key).not.toHaveProperty('secret');
        expect(key).not.toHaveProperty('secret_hash');
        expect(key).not.toHaveProperty('hash');
      }
    });
  });

  describe('key management by a key limited to environments', () => {
    it('should list and revoke only keys within its own environments', async () => {
      const manager = await createKey(t, {
        permissions: ['keys:manage', 'deployments:read'],
        environments: ['staging', 'qa'],
      });
      const inside = await createKey(t, {
        name: 'inside',
        permissions: ['deployments:read'],
        environments: ['staging'],
      });
      const outside = await createKey(t, {
        name: 'outside',
        permissions: ['deployments:read'],
        environments: ['production'],
      });

      const list = await t.http().get('/api/v1/auth/keys?per_page=100').set(bearer(manager.secret));
      const ids = list.body.keys.map((k: { id: string }) => k.id);
      expect(ids).toContain(inside.id);
      expect(ids).not.toContain(outside.id);

      const revokeAdmin = await t
        .http()
        .delete(
          `/api/v1/auth/keys/${(await t.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY))).body.id}`,
        )
        .set(bearer(manager.secret));
      expect(revokeAdmin.status).toBe(404);
      expect(
        (await t.http().delete(`/api/v1/auth/keys/${outside.id}`).set(bearer(manager.secret)))
          .status,
      ).toBe(404);
      expect((await t.http().get('/api/v1/auth/whoami').set(bearer(outside.secret))).status).toBe(
        200,
      );
      expect(
        (await t.http().delete(`/api/v1/auth/keys/${inside.id}`).set(bearer(manager.secret)))
          .status,
      ).toBe(204);
      expect((await t.http().get('/api/v1/auth/whoami').set(bearer(inside.secret))).status).toBe(
        401,
      );
    });
  });

  describe('the Authorization scheme', () => {
    it('should accept the Bearer scheme in any letter case', async () => {
      const res = await t
        .http()
        .get('/api/v1/auth/whoami')
        .set('Authorization', `bearer ${ADMIN_KEY}`);
      expect(res.status).toBe(200);
    });
  });

  describe('DELETE /api/v1/auth/keys/{id}', () => {
    it('should answer 204 and make the key fail with 401 from then on', async () => {
      const key = await createKey(t, { permissions: ['deployments:read'] });
      expect((await whoami(key.secret)).status).toBe(200);

      const res = await t.http().delete(`/api/v1/auth/keys/${key.id}`).set(bearer(ADMIN_KEY));

      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expectUnauthenticated(await whoami(key.secret));
      expectUnauthenticated(await t.http().get('/api/v1/deployments').set(bearer(key.secret)));
      const row = await keyRows().findOneByOrFail({ id: key.id });
      expect(row.revokedAt).toMatch(RFC3339);
      expect((await whoami(ADMIN_KEY)).status).toBe(200);
    });

    it('should answer 204 again when the key is deleted twice', async () => {
      const key = await createKey(t, { permissions: ['deployments:read'] });
      const first = await t.http().delete(`/api/v1/auth/keys/${key.id}`).set(bearer(ADMIN_KEY));
      const revokedAt = (await keyRows().findOneByOrFail({ id: key.id })).revokedAt;

      const second = await t.http().delete(`/api/v1/auth/keys/${key.id}`).set(bearer(ADMIN_KEY));

      expect([first.status, second.status]).toEqual([204, 204]);
      expect((await keyRows().findOneByOrFail({ id: key.id })).revokedAt).toBe(revokedAt);
      expectUnauthenticated(await whoami(key.secret));
    });

    it.each(['00000000-0000-0000-0000-000000000000', 'no-such-key', '1'])(
      'should answer an unknown id %s with 404 resource_not_found',
      async (id) => {
        const before = await keyRows().count({ where: { revokedAt: Not(IsNull()) } });
        const res = await t.http().delete(`/api/v1/auth/keys/${id}`).set(bearer(ADMIN_KEY));
        expectErrorBody(res, 404, 'resource_not_found');
        expect(await keyRows().count({ where: { revokedAt: Not(IsNull()) } })).toBe(before);
      },
    );
  });

  describe('who may revoke a key', () => {
    const revoke = (id: string, secret: string) =>
      t.http().delete(`/api/v1/auth/keys/${id}`).set(bearer(secret));

    it('should refuse with 403 a key revoking a key with permissions it lacks, the admin key first', async () => {
      const manager = await createKey(t, { permissions: ['keys:manage'], environments: ['*'] });
      const adminId = (await whoami(ADMIN_KEY)).body.id as string;
      const reader = await createKey(t, { permissions: ['keys:manage', 'deployments:read'] });

      const res = await revoke(adminId, manager.secret);

      expectErrorBody(res, 403, 'authorization_error');
      for (const p of ALL_PERMISSIONS.filter((p) => p !== 'keys:manage')) {
        expect(res.body.message).toContain(p);
      }
      expect((await keyRows().findOneByOrFail({ id: adminId })).revokedAt).toBeNull();
      expect((await whoami(ADMIN_KEY)).status).toBe(200);
      const other = await revoke(reader.id, manager.secret);
      expectErrorBody(other, 403, 'authorization_error');
      expect(other.body.message).toContain('deployments:read');
      expect((await whoami(reader.secret)).status).toBe(200);
      // Within what it holds, it may.
      const peer = await createKey(t, { permissions: ['keys:manage'], environments: ['staging'] });
      expect((await revoke(peer.id, manager.secret)).status).toBe(204);
      expectUnauthenticated(await whoami(peer.secret));
    });

    it('should answer 404 for a key outside its environments, 403 for one inside with more permissions', async () => {
      const manager = await createKey(t, {
        permissions: ['keys:manage'],
        environments: ['staging'],
      });
      const outside = await createKey(t, { permissions: ['keys:manage'], environments: ['qa'] });
      const richer = await createKey(t, {
        permissions: ['keys:manage', 'deployments:create'],
        environments: ['staging'],
      });

      expectErrorBody(await revoke(outside.id, manager.secret), 404, 'resource_not_found');
      const res = await revoke(richer.id, manager.secret);
      expectErrorBody(res, 403, 'authorization_error');
      expect(res.body.message).toContain('deployments:create');
      for (const key of [outside, richer]) expect((await whoami(key.secret)).status).toBe(200);
    });
  });

  describe('keys made by a key', () => {
    const post = (body: object, secret: string) =>
      t.http().post('/api/v1/auth/keys').set(bearer(secret)).send(body);

    it('should make a key without expires_at expire with its creator, and refuse a later one with 400', async () => {
      const creatorExpiry = inOneDay();
      const creator = await createKey(t, {
        permissions: ['keys:manage', 'deployments:read'],
        expires_at: creatorExpiry,
      });
      const before = await keyRows().count();

      const later = new Date(Date.parse(creatorExpiry) + 1000).toISOString();
      for (const body of [
        { name: 'later-than-creator', expires_at: later },
        { name: 'later-than-creator', expires_at: '2999-01-01T00:00:00Z' },
      ]) {
        const res = await post(
          { ...body, permissions: ['deployments:read'], environments: ['*'] },
          creator.secret,
        );
        expectValidationError(res, 'expires_at');
        expect(res.body.message).toContain(creatorExpiry);
      }
      expect(await keyRows().count()).toBe(before);

      const capped = await post(
        { name: 'capped-child', permissions: ['deployments:read'], environments: ['*'] },
        creator.secret,
      );
      expect(capped.status).toBe(201);
      expect(capped.body.expires_at).toBe(creatorExpiry);
      expect((await whoami(capped.body.secret)).body.expires_at).toBe(creatorExpiry);
      const earlier = new Date(Date.parse(creatorExpiry) - 3600_000).toISOString();
      const same = await post(
        {
          name: 'earlier-child',
          permissions: ['deployments:read'],
          environments: ['*'],
          expires_at: earlier,
        },
        creator.secret,
      );
      expect(same.status).toBe(201);
      expect(same.body.expires_at).toBe(earlier);
    });

    it('should stop a key made without expires_at once its short-lived creator expires', async () => {
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const creator = await createKey(t, {
        permissions: ['keys:manage', 'deployments:read'],
        expires_at: expiresAt,
      });
      const child = await post(
        { name: 'child-of-short-lived', permissions: ['deployments:read'], environments: ['*'] },
        creator.secret,
      );
      expect(child.status).toBe(201);
      expect((await whoami(child.body.secret)).status).toBe(200);

      while (Date.now() <= Date.parse(expiresAt) + 50) await sleep(50);

      expectUnauthenticated(await whoami(creator.secret));
      expectUnauthenticated(await whoami(child.body.secret));
    });

    it('should revoke with a key every key it made, and theirs, and nothing else', async () => {
      const parent = await createKey(t, { permissions: ['keys:manage', 'deployments:read'] });
      const child = await post(
        {
          name: 'cascade-child',
          permissions: ['keys:manage', 'deployments:read'],
          environments: ['*'],
        },
        parent.secret,
      );
      const grandchild = await post(
        {
          name: 'cascade-grandchild',
          permissions: ['deployments:read'],
          environments: ['staging'],
        },
        child.body.secret,
      );
      const sibling = await createKey(t, { permissions: ['deployments:read'] });
      expect([child.status, grandchild.status]).toEqual([201, 201]);

      const res = await t.http().delete(`/api/v1/auth/keys/${parent.id}`).set(bearer(ADMIN_KEY));

      expect(res.status).toBe(204);
      for (const secret of [parent.secret, child.body.secret, grandchild.body.secret]) {
        expectUnauthenticated(await whoami(secret));
      }
      const rows = await keyRows().findBy({
        id: In([parent.id, child.body.id, grandchild.body.id]),
      });
      expect(rows.map((r) => r.revokedAt)).toEqual([
        expect.stringMatching(RFC3339),
        expect.stringMatching(RFC3339),
        expect.stringMatching(RFC3339),
      ]);
      expect((await whoami(sibling.secret)).status).toBe(200);
      expect((await whoami(ADMIN_KEY)).status).toBe(200);
    });
  });

  describe('key names', () => {
    const post = (name: string, extra: object = {}) =>
      t
        .http()
        .post('/api/v1/auth/keys')
        .set(bearer(ADMIN_KEY))
        .send({ name, permissions: ['deployments:read'], environments: ['*'], ...extra });

    it('should answer 409 naming the name when an active key has it, and create nothing', async () => {
      const name = `unique-${randomBytes(4).toString('hex')}`;
      const first = await post(name);
      expect(first.status).toBe(201);
      const before = await keyRows().count();

      const res = await post(name, { permissions: ['audit:read'] });

      expectErrorBody(res, 409, 'conflict');
      expect(res.body.message).toContain(name);
      expect(pluck(res.body.details.errors, 'field')).toEqual(['name']);
      expect(await keyRows().count()).toBe(before);
      // Once revoked, the name is free again.
      await t
        .http()
        .delete(`/api/v1/auth/keys/${first.body.id}`)
        .set(bearer(ADMIN_KEY))
        .expect(204);
      expect((await post(name)).status).toBe(201);
    });

    it('should give one of simultaneous creations with the same name a 201, the others 409', async () => {
      const name = `raced-${randomBytes(4).toString('hex')}`;
      const statuses = (await Promise.all(Array.from({ length: 6 }, () => post(name)))).map(
        (r) => r.status,
      );
      expect(sorted(statuses.map(String))).toEqual(['201', '409', '409', '409', '409', '409']);
      expect(await keyRows().countBy({ name, revokedAt: IsNull() })).toBe(1);
    });

    it('should let a new key take the name of an expired one, which is then shown revoked', async () => {
      const name = `expiring-${randomBytes(4).toString('hex')}`;
      const expiresAt = new Date(Date.now() + 1000).toISOString();
      const old = await post(name, { expires_at: expiresAt });
      expect(old.status).toBe(201);
      expectErrorBody(await post(name), 409, 'conflict');
      while (Date.now() <= Date.parse(expiresAt) + 50) await sleep(50);

      const res = await post(name);

      expect(res.status).toBe(201);
      const row = await keyRows().findOneByOrFail({ id: old.body.id });
      expect(row.revokedAt).toMatch(RFC3339);
      expect(row.expiresAt).toBe(expiresAt);
    });
  });

  describe('GET /api/v1/auth/keys paging', () => {
    const list = (query: string, secret = ADMIN_KEY) =>
      t.http().get(`/api/v1/auth/keys${query}`).set(bearer(secret));

    it('should page by number and by cursor, newest first, like every list', async () => {
      for (let i = 0; i < 3; i++) await createKey(t, { permissions: ['deployments:read'] });
      const total = await keyRows().count();

      const first = await list('?per_page=2');
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ total, page: 1, per_page: 2 });
      expect(first.body.keys).toHaveLength(2);
      expect(typeof first.body.next_cursor).toBe('string');
      const second = await list('?per_page=2&page=2');
      expect(second.body).toMatchObject({ total, page: 2, per_page: 2 });

      const walked: Array<{ id: string; created_at: string }> = [...first.body.keys];
      let cursor: string | null = first.body.next_cursor;
      while (cursor) {
        const res = await list(`?per_page=2&cursor=${cursor}`);
        expect(res.status).toBe(200);
        expect(res.body).not.toHaveProperty('total');
        walked.push(...res.body.keys);
        cursor = res.body.next_cursor;
      }
      expect(walked.map((k) => k.id)).toEqual(
        [...walked]
          .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id))
          .map((k) => k.id),
      );
      expect(new Set(walked.map((k) => k.id)).size).toBe(total);
      expect(second.body.keys.map((k: { id: string }) => k.id)).toEqual(
        walked.slice(2, 4).map((k) => k.id),
      );
      expect((await list('?per_page=50')).body.keys).toHaveLength(Math.min(total, 50));
    });

    it("should count only the keys within a limited key's environments", async () => {
      const environments = [`paged-${randomBytes(4).toString('hex')}`]; // no other key has it
      const manager = await createKey(t, { permissions: ['keys:manage'], environments });
      const inside = await createKey(t, { permissions: ['audit:read'], environments });
      const res = await list('?per_page=1', manager.secret);
      expect(res.body).toMatchObject({ total: 2, page: 1, per_page: 1 });
      expect(res.body.keys.map((k: { id: string }) => k.id)).toEqual([inside.id]);
      const next = await list(`?per_page=1&cursor=${res.body.next_cursor}`, manager.secret);
      expect(next.body.keys.map((k: { id: string }) => k.id)).toEqual([manager.id]);
      expect(next.body.next_cursor).toBeNull();
    });

    it.each([
      ['?per_page=0', 'per_page'],
      ['?per_page=101', 'per_page'],
      ['?page=0', 'page'],
      ['?cursor=not-a-cursor', 'cursor'],
    ])('should refuse %s with 400 naming %s', async (query, field) => {
      expectValidationError(await list(query), field);
    });
  });

  describe('authentication failures on /api/v1', () => {
    it('should answer a request without an Authorization header with 401', async () => {
      expectUnauthenticated(await t.http().get('/api/v1/auth/whoami'));
    });

    it.each([
      ['Basic x'],
      ['Basic ' + Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')],
      ['Bearer'],
      ['Bearer '],
      ['Bearer a b'],
      [`Bearer ${ADMIN_KEY} extra`],
      [`Token ${ADMIN_KEY}`],
      [ADMIN_KEY],
    ])('should answer the malformed header "%s" with 401', async (header) => {
      const res = await t.http().get('/api/v1/auth/whoami').set('Authorization', header);
      expectUnauthenticated(res);
    });

    it('should answer an unknown secret with 401', async () => {
      const unknown = `fdk_${randomBytes(32).toString('base64url')}`;
      expectUnauthenticated(await whoami(unknown));
      expectUnauthenticated(await whoami(ADMIN_KEY.slice(0, -1)));
    });

    it('should answer an expired key with 401 once its expires_at has passed', async () => {
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const key = await createKey(t, { permissions: ['deployments:read'], expires_at: expiresAt });
      expect((await whoami(key.secret)).status).toBe(200);

      while (Date.now() <= Date.parse(expiresAt) + 50) await sleep(50);

      expectUnauthenticated(await whoami(key.secret));
      expectUnauthenticated(await t.http().get('/api/v1/deployments').set(bearer(key.secret)));
    });

    it('should record when a key was last used, at most once a minute', async () => {
      const key = await createKey(t, { permissions: ['deployments:read'] });
      const lastUsed = async (): Promise<unknown> => {
        const res = await t.http().get('/api/v1/auth/keys').set(bearer(ADMIN_KEY)).expect(200);
        return (res.body.keys as Array<{ id: string; last_used_at: unknown }>).find(
          (k) => k.id === key.id,
        )?.last_used_at;
      };
      expect(await lastUsed()).toBeNull();

      const before = Date.now();
      expect((await whoami(key.secret)).status).toBe(200);
      let first = await lastUsed();
      for (let tries = 0; first === null && tries < 40; tries++) {
        await sleep(25); // recorded beside the request, not before its answer
        first = await lastUsed();
      }
      expect(first).toMatch(RFC3339);
      expect(Date.parse(first as string)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(first as string)).toBeLessThanOrEqual(Date.now());

      await sleep(20);
      expect((await whoami(key.secret)).status).toBe(200);
      await sleep(100);
      expect(await lastUsed()).toBe(first);
    });

    it('should answer a revoked key with 401', async () => {
      const key = await createKey(t, { permissions: ['deployments:read'] });
      await t.http().delete(`/api/v1/auth/keys/${key.id}`).set(bearer(ADMIN_KEY)).expect(204);
      expectUnauthenticated(await whoami(key.secret));
    });
  });

  /**
   * Every /api/v1 route with the permission it declares. `prepare` makes what the request acts on
   * (fresh each time, so a refused request can be told apart from one that did something) and
   * names the operation it started, if any.
   */
  interface Route {
    method: 'get' | 'post' | 'delete';
    route: string;
    permission: string;
    prepare: () => Promise<{ path: string; body?: object; operationId?: string }>;
  }

  describe('permission matrix', () => {
    let deployment: Record<string, any>;

    beforeAll(async () => {
      deployment = await deployAndWait(t, { service: uniqueService('perm'), version: '1' });
    });

    const deployBody = () => ({
      service: uniqueService('perm'),
      version: '1',
      environment: 'staging',
    });

    const routes: Route[] = [
      {
        method: 'get',
        route: '/api/v1/deployments',
        permission: 'deployments:read',
        prepare: () => Promise.resolve({ path: '/api/v1/deployments' }),
      },
      {
        method: 'post',
        route: '/api/v1/deployments',
        permission: 'deployments:create',
        prepare: () => Promise.resolve({ path: '/api/v1/deployments', body: deployBody() }),
      },
      {
        method: 'post',
        route: '/api/v1/deployments/async',
        permission: 'deployments:create',
        prepare: () => Promise.resolve({ path: '/api/v1/deployments/async', body: deployBody() }),
      },
      {
        method: 'post',
        route: '/api/v1/deployments/preflight',
        permission: 'deployments:create',
        prepare: () =>
          Promise.resolve({ path: '/api/v1/deployments/preflight', body: deployBody() }),
      },
      {
        method: 'get',
        route: '/api/v1/state',
        permission: 'deployments:read',
        prepare: () => Promise.resolve({ path: '/api/v1/state' }),
      },
      {
        method: 'get',
        route: '/api/v1/locks',
        permission: 'deployments:read',
        prepare: () => Promise.resolve({ path: '/api/v1/locks' }),
      },
      {
        method: 'post',
        route: '/api/v1/locks',
        permission: 'locks:manage',
        prepare: () =>
          Promise.resolve({
            path: '/api/v1/locks',
            body: { environment: uniqueService('perm-env'), reason: 'keep off' },
          }),
      },
      {
        // Its creator may release a lock, and so may a key with deployments:override.
        method: 'delete',
        route: '/api/v1/locks/{id}',
        permission: 'deployments:override',
        prepare: async () => {
          const lock = await takeLock(t, { environment: uniqueService('perm-env') });
          return { path: `/api/v1/locks/${lock.id}` };
        },
      },
      {
        method: 'get',
        route: '/api/v1/freezes',
        permission: 'deployments:read',
        prepare: () => Promise.resolve({ path: '/api/v1/freezes' }),
      },
      {
        method: 'get',
        route: '/api/v1/freezes/status',
        permission: 'deployments:read',
        prepare: () => Promise.resolve({ path: '/api/v1/freezes/status?environment=staging' }),
      },
      {
        method: 'post',
        route: '/api/v1/freezes',
        permission: 'freezes:manage',
        prepare: () =>
          Promise.resolve({
            path: '/api/v1/freezes',
            body: {
              name: 'perm',
              environments: [uniqueService('perm-env')],
              starts_at: new Date().toISOString(),
              ends_at: new Date(Date.now() + 3_600_000).toISOString(),
            },
          }),
      },
      {
        method: 'delete',
        route: '/api/v1/freezes/{id}',
        permission: 'freezes:manage',
        prepare: async () => {
          const res = await t
            .http()
            .post('/api/v1/freezes')
            .set(bearer(ADMIN_KEY))
            .send({
              name: 'perm',
              environments: ['staging'],
              cron: '0 3 1 1 *',
              duration_minutes: 1,
            });
          expect(res.status).toBe(201);
          return { path: `/api/v1/freezes/${res.body.id}` };
        },
      },
      {
        method: 'get',
        route: '/api/v1/deployments/{id}',
        permission: 'deployments:read',
        prepare: () => Promise.resolve({ path: `/api/v1/deployments/${deployment.id}` }),
      },
      {
        method: 'get',
        route: '/api/v1/deployments/{id}/events',
        permission: 'deployments:read',
        prepare: () => Promise.resolve({ path: `/api/v1/deployments/${deployment.id}/events` }),
      },
      {
        method: 'post',
        route: '/api/v1/deployments/{id}/rollback',
        permission: 'deployments:rollback',
        prepare: async () => {
          const service = uniqueService('perm-rb');
          await deployAndWait(t, { service, version: '1' });
          const latest = await deployAndWait(t, { service, version: '2' });
          return { path: `/api/v1/deployments/${latest.id}/rollback`, body: { reason: 'test' } };
        },
      },
      {
        method: 'get',
        route: '/api/v1/deployments/{id}/reviews',
        permission: 'deployments:read',
        prepare: () => Promise.resolve({ path: `/api/v1/deployments/${deployment.id}/reviews` }),
      },
      {
        method: 'post',
        route: '/api/v1/deployments/{id}/reviews',
        permission: 'deployments:approve',
        prepare: async () => {
          const awaiting = await requestDeployment(t, {
            service: uniqueService('perm-review'),
            version: '1',
            environment: 'review-env',
          });
          expect(awaiting.body.status).toBe('awaiting_approval');
          return {
            path: `/api/v1/deployments/${awaiting.body.id}/reviews`,
            body: { decision: 'approve' },
          };
        },
      },
      {
        method: 'get',
        route: '/api/v1/approvals',
        permission: 'deployments:approve',
        prepare: () => Promise.resolve({ path: '/api/v1/approvals' }),
      },
      {
        method: 'get',
        route: '/api/v1/operations',
        permission: 'operations:read',
        prepare: () => Promise.resolve({ path: '/api/v1/operations' }),
      },
      {
        method: 'get',
        route: '/api/v1/operations/{id}',
        permission: 'operations:read',
        prepare: () => Promise.resolve({ path: `/api/v1/operations/${deployment.operation_id}` }),
      },
      {
        method: 'get',
        route: '/api/v1/operations/{id}/logs',
        permission: 'operations:read',
        prepare: () =>
          Promise.resolve({ path: `/api/v1/operations/${deployment.operation_id}/logs` }),
      },
      {
        method: 'get',
        route: '/api/v1/operations/{id}/events',
        permission: 'operations:read',
        prepare: () =>
          Promise.resolve({ path: `/api/v1/operations/${deployment.operation_id}/events` }),
      },
      {
        method: 'post',
        route: '/api/v1/operations/{id}/cancel',
        permission: 'operations:cancel',
        prepare: async () => {
          // A rollout still running, so that a cancel that got through would show.
          const started = await requestDeployment(t, {
            service: uniqueService('perm-op'),
            version: '1',
          });
          expect(started.status).toBe(201);
          const operationId: string = started.body.operation_id;
          return { path: `/api/v1/operations/${operationId}/cancel`, operationId };
        },
      },
      {
        method: 'get',
        route: '/api/v1/auth/keys',
        permission: 'keys:manage',
        prepare: () => Promise.resolve({ path: '/api/v1/auth/keys' }),
      },
      {
        method: 'get',
        route: '/api/v1/audit-events',
        permission: 'audit:read',
        prepare: () => Promise.resolve({ path: '/api/v1/audit-events' }),
      },
      {
        method: 'post',
        route: '/api/v1/auth/keys',
        permission: 'keys:manage',
        prepare: () =>
          Promise.resolve({
            path: '/api/v1/auth/keys',
            body: {
              name: `new-${randomBytes(4).toString('hex')}`,
              permissions: ['keys:manage'],
              environments: ['*'],
            },
          }),
      },
      {
        method: 'delete',
        route: '/api/v1/auth/keys/{id}',
        permission: 'keys:manage',
        prepare: async () => {
          // Within what a key holding only keys:manage may revoke.
          const victim = await createKey(t, { permissions: ['keys:manage'] });
          return { path: `/api/v1/auth/keys/${victim.id}` };
        },
      },
    ];

    /** What a request that got through would have changed. */
    async function snapshot() {
      const operations = t.dataSource.getRepository(Operation);
      return {
        deployments: await t.dataSource.getRepository(Deployment).count(),
        operations: await operations.count(),
        cancelledOperations: await operations.countBy({ status: OperationStatus.Cancelled }),
        cancelRequested: await operations.countBy({ cancelRequested: true }),
        keys: await keyRows().count(),
        revokedKeys: await keyRows().count({ where: { revokedAt: Not(IsNull()) } }),
        locks: await t.dataSource.getRepository(Lock).count(),
        endedLocks: await t.dataSource.getRepository(Lock).countBy({ endedAt: Not(IsNull()) }),
        reviews: await t.dataSource.getRepository(DeploymentReview).count(),
        freezes: await t.dataSource.getRepository(Freeze).count(),
      };
    }

    const send = (route: Route, path: string, body: object | undefined, secret?: string) => {
      const req = t.http()[route.method](path);
      if (secret) void req.set(bearer(secret));
      return body ? req.send(body) : req;
    };

    it('should cover every /api/v1 route the OpenAPI document lists', async () => {
      // A new route must join this matrix: this fails until it does.
      const doc = await t.http().get('/docs-json');
      const documented = Object.entries(doc.body.paths as Record<string, object>)
        .filter(([path]) => path.startsWith('/api/v1/'))
        .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
        .filter((r) => r !== 'GET /api/v1/auth/whoami');
      expect(sorted(documented)).toEqual(
        sorted(routes.map((r) => `${r.method.toUpperCase()} ${r.route}`)),
      );
    });

    it.each(routes)(
      'should refuse $method $route to a key holding every permission but $permission, changing nothing',
      async (route) => {
        const key = await createKey(t, {
          name: `lacks-${route.permission} for ${route.method} ${route.route}`,
          permissions: ALL_PERMISSIONS.filter((p) => p !== route.permission),
        });
        const { path, body, operationId } = await route.prepare();
        const before = await snapshot();

        const res = await send(route, path, body, key.secret);

        expectErrorBody(res, 403, 'authorization_error');
        expect(await snapshot()).toEqual(before);
        if (path.startsWith('/api/v1/auth/keys/')) {
          const victim = await keyRows().findOneByOrFail({ id: path.split('/').pop() });
          expect(victim.revokedAt).toBeNull();
        }
        if (operationId) {
          const finished = await waitForOperation(t, operationId);
          expect(finished).toMatchObject({ status: 'succeeded', cancel_requested: false });
        }
      },
    );

    it.each(routes)(
      'should answer $method $route without an API key with 401, changing nothing',
      async (route) => {
        const { path, body, operationId } = await route.prepare();
        const before = await snapshot();

        const res = await send(route, path, body);

        expectUnauthenticated(res);
        expect(await snapshot()).toEqual(before);
        if (operationId) {
          expect((await waitForOperation(t, operationId)).status).toBe('succeeded');
        }
      },
    );

    it.each(routes)(
      'should let $method $route through for a key holding only $permission',
      async (route) => {
        const key = await createKey(t, {
          name: `only-${route.permission} for ${route.method} ${route.route}`,
          permissions: [route.permission],
        });
        const { path, body, operationId } = await route.prepare();

        const res = await send(route, path, body, key.secret);

        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(300);
        const started: string | undefined = operationId ?? res.body?.operation_id;
        if (started) await waitForOperation(t, started);
      },
    );
  });

  describe('environment scope', () => {
    const service = uniqueService('scope');
    let scoped: { id: string; secret: string };
    let staging: Record<string, any>;
    let production: Record<string, any>;

    beforeAll(async () => {
      scoped = await createKey(t, {
        name: 'staging-only',
        permissions: ALL_PERMISSIONS,
        environments: ['staging'],
      });
      staging = await deployAndWait(t, { service, version: '1', environment: 'staging' });
      await deployAndWait(t, { service, version: '1', environment: 'production' });
      production = await deployAndWait(t, { service, version: '2', environment: 'production' });
      expect([staging.status, production.status]).toEqual(['successful', 'successful']);
    });

    const as = () => bearer(scoped.secret);
    const deploymentRows = () => t.dataSource.getRepository(Deployment);
    const operationRows = () => t.dataSource.getRepository(Operation);

    it('should refuse to create a deployment in an environment outside the key and write nothing', async () => {
      const before = { d: await deploymentRows().count(), o: await operationRows().count() };
      const body = { service: uniqueService('scope'), version: '1', environment: 'production' };

      const res = await t.http().post('/api/v1/deployments').set(as()).send(body);
      const asyncRes = await t.http().post('/api/v1/deployments/async').set(as()).send(body);

      expectErrorBody(res, 403, 'authorization_error');
      expectErrorBody(asyncRes, 403, 'authorization_error');
      expect({ d: await deploymentRows().count(), o: await operationRows().count() }).toEqual(
        before,
      );
      expect(await deploymentRows().countBy({ service: body.service })).toBe(0);
    });

    it('should create a deployment in its own environment', async () => {
      const res = await requestDeployment(
        t,
        { service: uniqueService('scope'), version: '1', environment: 'staging' },
        scoped.secret,
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ environment: 'staging', created_by: 'staging-only' });
      expect(await deploymentRows().countBy({ id: res.body.id })).toBe(1);
      await waitForOperation(t, res.body.operation_id);
    });

    it('should list only deployments in its environments', async () => {
      const res = await t.http().get(`/api/v1/deployments?service=${service}`).set(as());

      expect(res.status).toBe(200);
      expect(pluck(res.body.deployments, 'id')).toEqual([staging.id]);
      expect(res.body.total).toBe(1);

      const all = await t.http().get('/api/v1/deployments?per_page=100').set(as());
      const environments = new Set(pluck(all.body.deployments, 'environment'));
      expect([...environments]).toEqual(['staging']);
      expect(all.body.total).toBe(await deploymentRows().countBy({ environment: 'staging' }));
    });

    it('should list nothing when filtering on an environment outside the key', async () => {
      const res = await t
        .http()
        .get(`/api/v1/deployments?service=${service}&environment=production`)
        .set(as());
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ deployments: [], total: 0 });
      const admin = await t
        .http()
        .get(`/api/v1/deployments?service=${service}&environment=production`)
        .set(bearer(ADMIN_KEY));
      expect(admin.body.total).toBe(2);
    });

    it('should answer a deployment outside the key with 404, like one that does not exist', async () => {
      const res = await t.http().get(`/api/v1/deployments/${production.id}`).set(as());
      expectErrorBody(res, 404, 'resource_not_found');
      const missing = '01900000-0000-7000-8000-000000000000';
      const unknown = await t.http().get(`/api/v1/deployments/${missing}`).set(as());
      const message = (r: typeof res, id: string) => String(r.body.message).replace(id, '<id>');
      expect(message(res, production.id)).toBe(message(unknown, missing));
      const own = await t.http().get(`/api/v1/deployments/${staging.id}`).set(as());
      expect(own.status).toBe(200);
    });

    it('should answer the events of a deployment outside the key with 404', async () => {
      const res = await t.http().get(`/api/v1/deployments/${production.id}/events`).set(as());
      expectErrorBody(res, 404, 'resource_not_found');
      const own = await t.http().get(`/api/v1/deployments/${staging.id}/events`).set(as());
      expect(own.status).toBe(200);
    });

    it('should list only operations in its environments', async () => {
      const res = await t.http().get('/api/v1/operations?per_page=100').set(as());

      expect(res.status).toBe(200);
      const ids = pluck(res.body.operations, 'id');
      expect(ids).toContain(staging.operation_id);
      expect(ids).not.toContain(production.operation_id);
      expect(res.body.total).toBe(await operationRows().countBy({ scope: 'staging' }));
      for (const id of ids) {
        expect((await operationRows().findOneByOrFail({ id })).scope).toBe('staging');
      }
    });

    it('should answer an operation outside the key, its logs and its events with 404', async () => {
      for (const suffix of ['', '/logs', '/events']) {
        const path = `/api/v1/operations/${production.operation_id}${suffix}`;
        const res = await t.http().get(path).set(as());
        expectErrorBody(res, 404, 'resource_not_found');
        const own = await t
          .http()
          .get(`/api/v1/operations/${staging.operation_id}${suffix}`)
          .set(as());
        expect(own.status).toBe(200);
      }
    });

    it('should answer cancelling an operation outside the key with 404 and leave it running', async () => {
      const started = await requestDeployment(t, {
        service: uniqueService('scope'),
        version: '1',
        environment: 'production',
      });
      expect(started.status).toBe(201);

      const res = await t
        .http()
        .post(`/api/v1/operations/${started.body.operation_id}/cancel`)
        .set(as());

      expectErrorBody(res, 404, 'resource_not_found');
      const finished = await waitForOperation(t, started.body.operation_id);
      expect(finished).toMatchObject({ status: 'succeeded', cancel_requested: false });
    });

    it('should refuse to roll back a deployment outside the key with 403 and write nothing', async () => {
      const before = await deploymentRows().countBy({ service });

      const res = await t
        .http()
        .post(`/api/v1/deployments/${production.id}/rollback`)
        .set(as())
        .send({ reason: 'out of scope' });

      expectErrorBody(res, 403, 'authorization_error');
      expect(await deploymentRows().countBy({ service })).toBe(before);
      expect((await deploymentRows().findOneByOrFail({ id: production.id })).status).toBe(
        'successful',
      );
    });
  });

  describe('FLIGHTDECK_ADMIN_KEY bootstrap', () => {
    it('should keep exactly one key for that secret across restarts on the same database', async () => {
      const first = await startTestApp();
      const hash = sha256(ADMIN_KEY);
      let firstId: string;
      try {
        const rows = await first.dataSource.getRepository(ApiKey).findBy({ secretHash: hash });
        expect(rows).toHaveLength(1);
        firstId = rows[0].id;
      } finally {
        await first.close({ keepDatabase: true });
      }

      const second = await startTestApp({}, first.database);
      try {
        const rows = await second.dataSource.getRepository(ApiKey).findBy({ secretHash: hash });
        expect(rows.map((r) => r.id)).toEqual([firstId]);
        expect(await second.dataSource.getRepository(ApiKey).count()).toBe(1);
        const res = await second.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY));
        expect(res.status).toBe(200);
        expect(res.body.id).toBe(firstId);
      } finally {
        await second.close();
      }
    });

    it('should give the configured key every permission and every environment', async () => {
      const secret = `custom-admin-${randomBytes(12).toString('hex')}`;
      const app = await startTestApp({ FLIGHTDECK_ADMIN_KEY: secret });
      try {
        const row = await app.dataSource
          .getRepository(ApiKey)
          .findOneByOrFail({ secretHash: sha256(secret) });
        expect(sorted(row.permissions)).toEqual(sorted(ALL_PERMISSIONS));
        expect(row.environments).toEqual(['*']);
        expect(row.revokedAt).toBeNull();
        expect(row.expiresAt).toBeNull();
        expect((await app.http().get('/api/v1/auth/whoami').set(bearer(secret))).status).toBe(200);
      } finally {
        await app.close();
      }
    });
    it('should give an admin key made by an earlier version the permissions added since, at start-up', async () => {
      const first = await startTestApp();
      const keys = () => first.dataSource.getRepository(ApiKey);
      await keys().update(
        { secretHash: sha256(ADMIN_KEY) },
        { permissions: V1_PERMISSIONS as ApiKey['permissions'] },
      );
      await first.close({ keepDatabase: true });

      const second = await startTestApp({}, first.database);
      try {
        const res = await second.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY));
        expect(sorted(res.body.permissions)).toEqual(sorted(ALL_PERMISSIONS));
        expect(res.body.environments).toEqual(['*']);
      } finally {
        await second.close();
      }
    });

    it('should keep a revoked admin key revoked, and make a new admin key from a new secret', async () => {
      const old = `old-admin-${randomBytes(12).toString('hex')}`;
      const first = await startTestApp({ FLIGHTDECK_ADMIN_KEY: old });
      const database = first.database;
      try {
        const id = (await first.http().get('/api/v1/auth/whoami').set(bearer(old))).body.id;
        await first.http().delete(`/api/v1/auth/keys/${id}`).set(bearer(old)).expect(204);
      } finally {
        await first.close({ keepDatabase: true });
      }

      const same = await startTestApp({ FLIGHTDECK_ADMIN_KEY: old }, database);
      try {
        expectUnauthenticated(await same.http().get('/api/v1/auth/whoami').set(bearer(old)));
      } finally {
        await same.close({ keepDatabase: true });
      }

      const fresh = `new-admin-${randomBytes(12).toString('hex')}`;
      const recovered = await startTestApp({ FLIGHTDECK_ADMIN_KEY: fresh }, database);
      try {
        const res = await recovered.http().get('/api/v1/auth/whoami').set(bearer(fresh));
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ name: 'admin', environments: ['*'], expires_at: null });
        expect(sorted(res.body.permissions)).toEqual(sorted(ALL_PERMISSIONS));
        expectUnauthenticated(await recovered.http().get('/api/v1/auth/whoami').set(bearer(old)));
      } finally {
        await recovered.close();
      }
    });

    it('should make a new admin key beside the active one when the secret changes', async () => {
      const old = `old-admin-${randomBytes(12).toString('hex')}`;
      const first = await startTestApp({ FLIGHTDECK_ADMIN_KEY: old });
      await first.close({ keepDatabase: true });
      const fresh = `new-admin-${randomBytes(12).toString('hex')}`;

      const second = await startTestApp({ FLIGHTDECK_ADMIN_KEY: fresh }, first.database);
      try {
        const res = await second.http().get('/api/v1/auth/whoami').set(bearer(fresh));
        expect(res.status).toBe(200);
        // 'admin' is the old key's; names are unique among active keys.
        expect(res.body.name).toBe(`admin (${res.body.prefix})`);
        expect(sorted(res.body.permissions)).toEqual(sorted(ALL_PERMISSIONS));
        expect((await second.http().get('/api/v1/auth/whoami').set(bearer(old))).status).toBe(200);
      } finally {
        await second.close();
      }
    });
  });

  describe('upgrading to the v1.1 permissions', () => {
    it('should give keys that held every v1 permission the new ones, and leave the others as they were', async () => {
      const runner = t.dataSource.createQueryRunner();
      const secrets = { everything: `fdk_v1_${randomBytes(8).toString('hex')}`, some: '' };
      secrets.some = `fdk_v1_${randomBytes(8).toString('hex')}`;
      const row = (name: string, secret: string, permissions: string[]): ApiKey =>
        Object.assign(new ApiKey(), {
          id: randomUUID(),
          name: `${name}-${randomBytes(4).toString('hex')}`,
          prefix: 'fdk_v1',
          secretHash: sha256(secret),
          permissions,
          environments: ['staging'],
          createdByKeyId: null,
          createdAt: new Date().toISOString(),
          expiresAt: null,
          revokedAt: null,
          lastUsedAt: null,
        });
      try {
        await t.dataSource
          .getRepository(ApiKey)
          .insert([
            row('v1-everything', secrets.everything, V1_PERMISSIONS),
            row('v1-some', secrets.some, ['deployments:read', 'deployments:create']),
          ]);

        await grantV11Permissions(runner);

        const everything = await t
          .http()
          .get('/api/v1/auth/whoami')
          .set(bearer(secrets.everything));
        const some = await t.http().get('/api/v1/auth/whoami').set(bearer(secrets.some));
        expect(sorted(everything.body.permissions)).toEqual(sorted(ALL_PERMISSIONS));
        expect(everything.body.environments).toEqual(['staging']);
        expect(some.body.permissions).toEqual(['deployments:read', 'deployments:create']);
        const lock = await t
          .http()
          .post('/api/v1/locks')
          .set(bearer(secrets.everything))
          .send({ environment: 'staging', service: uniqueService(), reason: 'upgraded' });
        expect(lock.status).toBe(201);
      } finally {
        await runner.release();
      }
    });
  });

  describe('upgrading a database with keys made before these rules', () => {
    it('should revoke or cap keys made by revoked or expired keys, and make active names unique', async () => {
      const app = await startTestApp();
      const runner = app.dataSource.createQueryRunner();
      try {
        const migration = new ApiKeyLineage1764000000004();
        await migration.down(runner);
        const past = new Date(Date.now() - 3600_000).toISOString();
        const future = inOneDay();
        const row = (id: string, fields: Partial<ApiKey>): ApiKey =>
          Object.assign(new ApiKey(), {
            id,
            name: id,
            prefix: 'fdk_old',
            secretHash: sha256(id),
            permissions: ['deployments:read'],
            environments: ['*'],
            createdByKeyId: null,
            createdAt: new Date(Date.now() - 7200_000).toISOString(),
            expiresAt: null,
            revokedAt: null,
            lastUsedAt: null,
            ...fields,
          });
        const ids = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;
        await app.dataSource.getRepository(ApiKey).insert([
          row(ids(1), { revokedAt: past }),
          row(ids(2), { createdByKeyId: ids(1) }), // made by a revoked key
          row(ids(3), { createdByKeyId: ids(2) }), // and its child
          row(ids(4), { expiresAt: future }),
          row(ids(5), { createdByKeyId: ids(4) }), // no expiry, creator expires
          row(ids(6), { name: 'dup', createdAt: '2026-01-01T00:00:00.000Z' }),
          row(ids(7), { name: 'dup', createdAt: '2026-01-02T00:00:00.000Z' }),
          row(ids(8), { name: 'dup', createdAt: '2026-01-03T00:00:00.000Z', expiresAt: past }),
          row(ids(9), { name: 'dup (2)', createdAt: '2026-01-04T00:00:00.000Z' }),
        ]);

        await migration.up(runner);

        const byId = new Map(
          (await app.dataSource.getRepository(ApiKey).find()).map((k) => [k.id, k]),
        );
        expect(byId.get(ids(2))!.revokedAt).toMatch(RFC3339);
        expect(byId.get(ids(3))!.revokedAt).toMatch(RFC3339);
        expect(byId.get(ids(5))!).toMatchObject({ expiresAt: future, revokedAt: null });
        expect(byId.get(ids(8))!.revokedAt).toMatch(RFC3339);
        expect([6, 7, 9].map((n) => byId.get(ids(n))!.name)).toEqual(['dup', 'dup (3)', 'dup (2)']);
        const duplicate = await app
          .http()
          .post('/api/v1/auth/keys')
          .set(bearer(ADMIN_KEY))
          .send({ name: 'dup', permissions: ['deployments:read'], environments: ['*'] });
        expectErrorBody(duplicate, 409, 'conflict');
      } finally {
        await runner.release();
        await app.close();
      }
    });
  });

  describe('first start without FLIGHTDECK_ADMIN_KEY', () => {
    /** Boots the app and returns what it wrote to standard output while starting. */
    async function startCapturingStdout(database?: TestApp['database']) {
      const spy = jest.spyOn(process.stdout, 'write');
      try {
        const app = await startTestApp({ FLIGHTDECK_ADMIN_KEY: '' }, database);
        return { app, printed: spy.mock.calls.map(([chunk]) => String(chunk)).join('') };
      } finally {
        spy.mockRestore();
      }
    }

    it('should create one admin key on an empty database and print its secret once', async () => {
      const { app, printed } = await startCapturingStdout();
      try {
        const rows = await app.dataSource.getRepository(ApiKey).find();
        expect(rows).toHaveLength(1);
        expect(sorted(rows[0].permissions)).toEqual(sorted(ALL_PERMISSIONS));
        expect(rows[0].environments).toEqual(['*']);
        expect(rows[0].revokedAt).toBeNull();
        expect(rows[0].expiresAt).toBeNull();

        const secrets: string[] = printed.match(/fdk_[\x21-\x7e]+/g) ?? [];
        expect(secrets).toHaveLength(1);
        expect(sha256(secrets[0])).toBe(rows[0].secretHash);
        const res = await app.http().get('/api/v1/auth/whoami').set(bearer(secrets[0]));
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id: rows[0].id, environments: ['*'] });
        expectUnauthenticated(await app.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY)));
      } finally {
        await app.close({ keepDatabase: true });
      }

      const again = await startCapturingStdout(app.database);
      try {
        expect(await again.app.dataSource.getRepository(ApiKey).count()).toBe(1);
        expect(again.printed).not.toMatch(/fdk_/);
      } finally {
        await again.app.close();
      }
    });
  });
});
