import { randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '../src/auth/principal';
import { ALL_PERMISSIONS } from '../src/auth/permission.enum';
import { ApiError } from '../src/common/errors/api-error';
import { Database } from '../src/database/database';
import { Freeze } from '../src/freezes/freeze.entity';
import { FreezesRepository } from '../src/freezes/freezes.repository';
import { GateRequest } from '../src/gates/gate';
import { GatesService } from '../src/gates/gates.service';
import { createKey } from './factories/keys';
import { auditEventOf } from './helpers/audit';
import { ADMIN_KEY, bearer, startTestApp, TestApp, waitForOperation } from './helpers/test-app';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** An environment no other test uses: freezes are shared by the whole file. */
const uniqueEnvironment = (prefix = 'env') => `${prefix}-${randomBytes(4).toString('hex')}`;
const isoIn = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('Freeze windows (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const create = (body: object, secret = ADMIN_KEY) =>
    t.http().post('/api/v1/freezes').set(bearer(secret)).send(body);
  const list = (secret = ADMIN_KEY) => t.http().get('/api/v1/freezes').set(bearer(secret));
  const remove = (id: string, secret = ADMIN_KEY) =>
    t.http().delete(`/api/v1/freezes/${id}`).set(bearer(secret));
  const status = (query: Record<string, string>, secret = ADMIN_KEY) =>
    t.http().get('/api/v1/freezes/status').query(query).set(bearer(secret));
  const freezeRows = () => t.dataSource.getRepository(Freeze).count();

  /** A one-off freeze that started an hour ago and ends in `endsIn`. */
  const oneOffNow = (environments: string[], endsIn = 2 * HOUR, extra: object = {}) => ({
    name: 'Incident review',
    environments,
    starts_at: isoIn(-HOUR),
    ends_at: isoIn(endsIn),
    ...extra,
  });

  describe('POST /api/v1/freezes', () => {
    it('should create a one-off freeze that has started already', async () => {
      const environment = uniqueEnvironment();
      const startsAt = isoIn(-HOUR);
      const endsAt = isoIn(3 * HOUR);

      const res = await create({
        name: 'Black Friday',
        environments: [environment],
        services: ['payments', 'checkout'],
        starts_at: startsAt,
        ends_at: endsAt,
      });

      expect(res.status).toBe(201);
      const admin = (await t.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY))).body;
      expect(res.body).toEqual({
        id: expect.any(String),
        name: 'Black Friday',
        environments: [environment],
        services: ['payments', 'checkout'],
        starts_at: startsAt,
        ends_at: endsAt,
        cron: null,
        duration_minutes: null,
        timezone: null,
        created_by: { key_id: admin.id, name: admin.name },
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      expect((await list()).body.freezes).toContainEqual(res.body);
    });

    it('should create a recurring freeze, in UTC unless told, with its cron single-spaced', async () => {
      const environment = uniqueEnvironment();

      const utc = await create({
        name: 'Nightly batch',
        environments: [environment],
        cron: ' 30  2 * * * ',
        duration_minutes: 60,
      });
      const berlin = await create({
        name: 'Weekends',
        environments: [environment],
        cron: '0 18 * * 5',
        duration_minutes: 61 * 60,
        timezone: 'Europe/Berlin',
        // The shape the API answers with, nulls included, is accepted back.
        starts_at: null,
        ends_at: null,
        services: null,
      });

      expect(utc.status).toBe(201);
      expect(utc.body).toMatchObject({
        cron: '30 2 * * *',
        duration_minutes: 60,
        timezone: 'UTC',
        starts_at: null,
        ends_at: null,
        services: null,
      });
      expect(berlin.status).toBe(201);
      expect(berlin.body).toMatchObject({ timezone: 'Europe/Berlin', duration_minutes: 3660 });
    });

    it("should take ['*', …] as every environment", async () => {
      const res = await create({
        name: 'Everything',
        environments: ['*', 'staging'],
        starts_at: isoIn(400 * DAY),
        ends_at: isoIn(401 * DAY),
      });

      expect(res.status).toBe(201);
      expect(res.body.environments).toEqual(['*']);
      expect((await remove(res.body.id)).status).toBe(204);
    });

    const environment = 'production';
    const valid = { name: 'Release freeze', environments: [environment] };
    it.each([
      ['cron', 'a minute of 61', { ...valid, cron: '61 * * * *', duration_minutes: 60 }],
      ['cron', 'six fields', { ...valid, cron: '0 0 18 * * 5', duration_minutes: 60 }],
      [
        'timezone',
        'Mars/Olympus',
        { ...valid, cron: '0 18 * * 5', duration_minutes: 60, timezone: 'Mars/Olympus' },
      ],
      [
        'cron',
        'both forms at once',
        {
          ...valid,
          starts_at: '2027-01-01T00:00:00Z',
          ends_at: '2027-01-02T00:00:00Z',
          cron: '0 18 * * 5',
          duration_minutes: 60,
        },
      ],
      [
        'timezone',
        'a time zone with a one-off freeze',
        {
          ...valid,
          starts_at: '2027-01-01T00:00:00Z',
          ends_at: '2027-01-02T00:00:00Z',
          timezone: 'UTC',
        },
      ],
      ['starts_at', 'neither form', valid],
      ['ends_at', 'a start without an end', { ...valid, starts_at: '2027-01-01T00:00:00Z' }],
      ['duration_minutes', 'a cron without a duration', { ...valid, cron: '0 18 * * 5' }],
      [
        'ends_at',
        'ends_at before starts_at',
        { ...valid, starts_at: '2027-01-02T00:00:00Z', ends_at: '2027-01-01T00:00:00Z' },
      ],
      [
        'ends_at',
        'ends_at in the past',
        { ...valid, starts_at: '2020-01-01T00:00:00Z', ends_at: '2020-01-02T00:00:00Z' },
      ],
      [
        'starts_at',
        'a start that is not RFC 3339',
        { ...oneOffNow([environment]), starts_at: 'tomorrow' },
      ],
      [
        'duration_minutes',
        'a duration of 0',
        { ...valid, cron: '0 18 * * 5', duration_minutes: 0 },
      ],
      [
        'duration_minutes',
        'a duration over 31 days',
        { ...valid, cron: '0 0 1 * *', duration_minutes: 31 * 24 * 60 + 1 },
      ],
      ['name', 'a name of 101 characters', { ...oneOffNow([environment]), name: 'x'.repeat(101) }],
      ['name', 'no name', { ...oneOffNow([environment]), name: undefined }],
      ['environments', 'a bad environment slug', oneOffNow(['Prod!'])],
      ['environments', 'no environment', oneOffNow([])],
      ['services', 'an empty list of services', oneOffNow([environment], HOUR, { services: [] })],
      ['services', 'a bad service slug', oneOffNow([environment], HOUR, { services: ['a b'] })],
    ])('should refuse %s (%s) with 400 naming it, writing nothing', async (field, _what, body) => {
      const before = await freezeRows();

      const res = await create(body);

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('validation_error');
      expect(res.body.details.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await freezeRows()).toBe(before);
    });

    it('should name each field of the second form given', async () => {
      const res = await create({
        ...oneOffNow([environment]),
        cron: '0 18 * * 5',
        duration_minutes: 60,
        timezone: 'UTC',
      });

      expect(res.status).toBe(400);
      expect(res.body.details.errors).toEqual([
        { field: 'cron', message: expect.stringContaining('cannot be combined with starts_at') },
        {
          field: 'duration_minutes',
          message: expect.stringContaining('cannot be combined with starts_at'),
        },
        {
          field: 'timezone',
          message: expect.stringContaining('cannot be combined with starts_at'),
        },
      ]);
    });

    it('should refuse, with 403, a key lacking an environment it names, or every environment for "*"', async () => {
      const scoped = await createKey(t, {
        permissions: ['freezes:manage', 'deployments:read'],
        environments: ['staging'],
      });
      const reader = await createKey(t, { permissions: ['deployments:read'] });
      const before = await freezeRows();

      const outside = await create(oneOffNow(['staging', 'production']), scoped.secret);
      const everything = await create(oneOffNow(['*']), scoped.secret);
      const withoutPermission = await create(oneOffNow(['staging']), reader.secret);

      for (const res of [outside, everything, withoutPermission]) {
        expect(res.status).toBe(403);
        expect(res.body.error).toBe('authorization_error');
      }
      expect(outside.body.message).toContain("'production'");
      expect(await freezeRows()).toBe(before);
      const inside = await create(oneOffNow(['staging']), scoped.secret);
      expect(inside.status).toBe(201);
      expect((await remove(inside.body.id, scoped.secret)).status).toBe(204);
    });

    it('should record the creation in the audit log, filed under its environment', async () => {
      const environment = uniqueEnvironment();
      const one = await create(oneOffNow([environment]));
      const all = await create({
        name: 'Everything, later',
        environments: ['*'],
        starts_at: isoIn(400 * DAY),
        ends_at: isoIn(401 * DAY),
      });
      const scoped = await createKey(t, {
        permissions: ['freezes:manage'],
        environments: ['staging'],
      });
      const refused = await create(oneOffNow([environment]), scoped.secret);

      expect(await auditEventOf(t, one)).toMatchObject({
        action: 'POST /api/v1/freezes',
        target: { type: 'freeze', id: one.body.id },
        outcome: 'succeeded',
        status: 201,
        environment,
      });
      expect(await auditEventOf(t, all)).toMatchObject({
        target: { type: 'freeze', id: all.body.id },
        environment: '*',
      });
      expect(await auditEventOf(t, refused)).toMatchObject({
        outcome: 'denied',
        status: 403,
        environment,
      });
      expect((await remove(all.body.id)).status).toBe(204);
    });
  });

  describe('GET /api/v1/freezes', () => {
    it("should list the freezes touching the key's environments, newest first", async () => {
      const [mine, theirs] = [uniqueEnvironment('mine'), uniqueEnvironment('theirs')];
      const key = await createKey(t, { permissions: ['deployments:read'], environments: [mine] });
      const onMine = await create(oneOffNow([mine]));
      const onBoth = await create(oneOffNow([theirs, mine]));
      const onTheirs = await create(oneOffNow([theirs]));
      const onAll = await create({
        ...oneOffNow(['*']),
        starts_at: isoIn(400 * DAY),
        ends_at: isoIn(401 * DAY),
      });

      const seen = (await list(key.secret)).body.freezes.map((f: { id: string }) => f.id);
      const all = (await list()).body.freezes.map((f: { id: string }) => f.id);

      expect(seen).toEqual(expect.arrayContaining([onMine.body.id, onBoth.body.id, onAll.body.id]));
      expect(seen).not.toContain(onTheirs.body.id);
      expect(all).toEqual(expect.arrayContaining([onTheirs.body.id]));
      const order = [onAll, onBoth, onMine].map((res) => all.indexOf(res.body.id));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect((await remove(onAll.body.id)).status).toBe(204);
    });

    it('should leave out one-off freezes that have ended', async () => {
      const environment = uniqueEnvironment();
      const ended = Object.assign(new Freeze(), {
        id: randomUUID(),
        name: 'Last year',
        environments: [environment],
        services: null,
        startsAt: '2025-12-24T00:00:00.000Z',
        endsAt: '2025-12-27T00:00:00.000Z',
        cron: null,
        durationMinutes: null,
        timezone: null,
        createdByKeyId: 'someone',
        createdByName: 'someone',
        createdAt: '2025-12-01T00:00:00.000Z',
      });
      await t.app.get(Database).transaction(() => t.app.get(FreezesRepository).insert(ended));
      const current = await create(oneOffNow([environment]));

      const ids = (await list()).body.freezes.map((f: { id: string }) => f.id);

      expect(ids).toContain(current.body.id);
      expect(ids).not.toContain(ended.id);
      // It is still there (and can be deleted), just over.
      expect((await remove(ended.id)).status).toBe(204);
    });
  });

  describe('DELETE /api/v1/freezes/{id}', () => {
    it('should delete a freeze, which stops applying at once, and record it in the audit log', async () => {
      const environment = uniqueEnvironment();
      const freeze = await create(oneOffNow([environment]));
      expect((await status({ environment })).body.frozen).toBe(true);

      const res = await remove(freeze.body.id);

      expect(res.status).toBe(204);
      expect((await status({ environment })).body).toEqual({
        frozen: false,
        active: [],
        next_change_at: null,
      });
      expect((await list()).body.freezes.map((f: { id: string }) => f.id)).not.toContain(
        freeze.body.id,
      );
      expect(await auditEventOf(t, res)).toMatchObject({
        action: 'DELETE /api/v1/freezes/:id',
        target: { type: 'freeze', id: freeze.body.id },
        outcome: 'succeeded',
        status: 204,
        environment,
      });
      expect((await remove(freeze.body.id)).status).toBe(404);
    });

    it('should answer 404 for a freeze the key cannot see and 403 for one naming an environment it lacks', async () => {
      const [mine, theirs] = [uniqueEnvironment('mine'), uniqueEnvironment('theirs')];
      const key = await createKey(t, { permissions: ['freezes:manage'], environments: [mine] });
      const reader = await createKey(t, { permissions: ['deployments:read'] });
      const onTheirs = await create(oneOffNow([theirs]));
      const onBoth = await create(oneOffNow([mine, theirs]));
      const onMine = await create(oneOffNow([mine]));

      const invisible = await remove(onTheirs.body.id, key.secret);
      const partly = await remove(onBoth.body.id, key.secret);
      const withoutPermission = await remove(onMine.body.id, reader.secret);
      const unknown = await remove('0193a6f1-0000-7000-8000-000000000000', key.secret);

      expect(invisible.status).toBe(404);
      expect(invisible.body.error).toBe('resource_not_found');
      expect(unknown.status).toBe(404);
      expect(partly.status).toBe(403);
      expect(partly.body.error).toBe('authorization_error');
      expect(withoutPermission.status).toBe(403);
      const ids = (await list()).body.freezes.map((f: { id: string }) => f.id);
      expect(ids).toEqual(
        expect.arrayContaining([onTheirs.body.id, onBoth.body.id, onMine.body.id]),
      );
      expect(await auditEventOf(t, partly)).toMatchObject({ outcome: 'denied', status: 403 });
    });
  });

  describe('GET /api/v1/freezes/status', () => {
    it('should say frozen while a one-off freeze applies, with next_change_at its end', async () => {
      const environment = uniqueEnvironment();
      const freeze = await create(oneOffNow([environment], 2 * HOUR));

      const res = await status({ environment, service: 'payments' });

      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        frozen: true,
        active: [freeze.body],
        next_change_at: freeze.body.ends_at,
      });
    });

    it('should thaw only when back-to-back freezes have all ended', async () => {
      const environment = uniqueEnvironment();
      const first = await create(oneOffNow([environment], 2 * HOUR));
      const second = await create({
        name: 'Follow-up',
        environments: [environment],
        starts_at: first.body.ends_at,
        ends_at: isoIn(5 * HOUR),
      });

      const res = await status({ environment });

      expect(res.body.frozen).toBe(true);
      expect(res.body.active.map((f: { id: string }) => f.id)).toEqual([first.body.id]);
      expect(res.body.next_change_at).toBe(second.body.ends_at);
    });

    it('should say when the next window opens while not frozen', async () => {
      const environment = uniqueEnvironment();
      const startsAt = isoIn(3 * DAY);
      await create({
        name: 'Later',
        environments: [environment],
        starts_at: startsAt,
        ends_at: isoIn(4 * DAY),
      });

      const res = await status({ environment });

      expect(res.body).toEqual({ frozen: false, active: [], next_change_at: startsAt });
    });

    it('should say frozen while a recurring window applies, until it closes', async () => {
      const environment = uniqueEnvironment();
      // Every day at the start of the hour two hours ago, for a day less one minute: the latest
      // window opened two to three hours ago, and closes a minute before the next one opens.
      const opened = new Date(Date.now() - 2 * HOUR);
      opened.setUTCMinutes(0, 0, 0);
      const freeze = await create({
        name: 'Daily',
        environments: [environment],
        services: ['payments'],
        cron: `0 ${opened.getUTCHours()} * * *`,
        duration_minutes: 24 * 60 - 1,
      });

      const payments = await status({ environment, service: 'payments' });
      const anyService = await status({ environment });
      const other = await status({ environment, service: 'search' });

      const closes = new Date(opened.getTime() + (24 * 60 - 1) * MINUTE).toISOString();
      expect(payments.body).toEqual({
        frozen: true,
        active: [freeze.body],
        next_change_at: closes,
      });
      expect(anyService.body).toEqual(payments.body);
      expect(other.body).toEqual({ frozen: false, active: [], next_change_at: null });
    });

    it('should answer 403 for an environment outside the key and 400 without a valid environment', async () => {
      const key = await createKey(t, {
        permissions: ['deployments:read'],
        environments: ['staging'],
      });

      const outside = await status({ environment: 'production' }, key.secret);
      const missing = await status({}, key.secret);
      const onlyService = await status({ service: 'payments' }, key.secret);
      const bad = await status({ environment: 'Prod!' }, key.secret);

      expect(outside.status).toBe(403);
      expect(outside.body.error).toBe('authorization_error');
      for (const res of [missing, onlyService, bad]) {
        expect(res.status).toBe(400);
        expect(res.body.details.errors).toEqual([
          { field: 'environment', message: expect.any(String) },
        ]);
      }
      expect((await status({ environment: 'staging' }, key.secret)).status).toBe(200);
    });
  });

  describe('the freeze gate', () => {
    const principal: Principal = {
      keyId: 'gate-test',
      name: 'gate-test',
      prefix: 'fdk_test',
      permissions: ALL_PERMISSIONS,
      environments: ['*'],
      expiresAt: null,
    };
    const request = (over: Partial<GateRequest>): GateRequest => ({
      principal,
      service: 'payments',
      version: '1.4.2',
      environment: 'production',
      kind: 'rollout',
      at: new Date().toISOString(),
      ...over,
    });
    const gates = () => t.app.get(GatesService);
    /** The freeze gate's verdicts among every gate's. */
    const freezeVerdicts = async (asked: GateRequest) =>
      (await gates().evaluate(asked)).filter((v) => v.type === 'freeze');

    it('should block a rollout with a verdict per freeze that applies (newest first), naming it and when it ends', async () => {
      const environment = uniqueEnvironment();
      const first = await create(oneOffNow([environment], 2 * HOUR, { name: 'Audit week' }));
      const second = await create(
        oneOffNow([environment], 3 * HOUR, { name: 'Payments only', services: ['payments'] }),
      );

      const verdicts = await freezeVerdicts(request({ environment }));

      expect(verdicts).toEqual(
        [second, first].map((f) => ({
          type: 'freeze',
          status: 'blocked',
          reason: `Freeze '${f.body.name}' applies until ${f.body.ends_at}`,
          details: { freeze_id: f.body.id, name: f.body.name, ends_at: f.body.ends_at },
        })),
      );
    });

    it('should answer 409 deployment_blocked listing every freeze, unless overridden', async () => {
      const environment = uniqueEnvironment();
      const first = await create(oneOffNow([environment], 2 * HOUR, { name: 'One' }));
      const second = await create(oneOffNow([environment], 3 * HOUR, { name: 'Two' }));

      const blocked = gates().assertOpen(request({ environment }));

      await expect(blocked).rejects.toBeInstanceOf(ApiError);
      await expect(blocked).rejects.toMatchObject({
        code: 'deployment_blocked',
        details: {
          gates: [second, first].map((f) => ({
            type: 'freeze',
            reason: expect.stringContaining(f.body.name),
            freeze_id: f.body.id,
            name: f.body.name,
            ends_at: f.body.ends_at,
          })),
        },
      });
      const overridden = await gates().assertOpen(request({ environment }), true);
      expect(overridden.filter((v) => v.status === 'blocked')).toHaveLength(2);
    });

    it('should pass a rollback, another service, another environment, and a freeze not yet started', async () => {
      const environment = uniqueEnvironment();
      await create(oneOffNow([environment], 2 * HOUR, { services: ['payments'] }));
      await create({
        name: 'Next week',
        environments: [environment],
        starts_at: isoIn(7 * DAY),
        ends_at: isoIn(8 * DAY),
      });
      const passed = [{ type: 'freeze', status: 'passed', reason: expect.any(String) }];

      expect(await freezeVerdicts(request({ environment, kind: 'rollback' }))).toEqual([]);
      expect(await freezeVerdicts(request({ environment, service: 'search' }))).toEqual(passed);
      expect(await freezeVerdicts(request({ environment: uniqueEnvironment() }))).toEqual(passed);
      expect(
        await freezeVerdicts(request({ environment, service: 'search', at: isoIn(7 * DAY) })),
      ).toEqual([expect.objectContaining({ type: 'freeze', status: 'blocked' })]);
    });

    it('should block a freeze of every environment, and decide inside a transaction', async () => {
      const all = await create(oneOffNow(['*'], 2 * HOUR, { name: 'Everything' }));
      try {
        const verdicts = await t.app
          .get(Database)
          .transaction(() => freezeVerdicts(request({ environment: uniqueEnvironment() })));

        expect(verdicts).toEqual([
          expect.objectContaining({
            status: 'blocked',
            details: expect.objectContaining({ freeze_id: all.body.id }),
          }),
        ]);
      } finally {
        expect((await remove(all.body.id)).status).toBe(204);
      }
    });

    it('should answer a rollout during a freeze 409 naming it, write nothing, and let a rollback through', async () => {
      const environment = uniqueEnvironment();
      const deploy = (version: string) =>
        t
          .http()
          .post('/api/v1/deployments')
          .set(bearer(ADMIN_KEY))
          .send({ service: 'checkout', version, environment });
      const first = await deploy('1.0.0');
      await waitForOperation(t, first.body.operation_id);
      const second = await deploy('1.1.0');
      await waitForOperation(t, second.body.operation_id);
      const freeze = await create(oneOffNow([environment], HOUR, { name: 'Release night' }));

      const blocked = await deploy('1.2.0');

      expect(blocked.status).toBe(409);
      expect(blocked.body).toMatchObject({
        error: 'deployment_blocked',
        details: {
          gates: [
            {
              type: 'freeze',
              reason: `Freeze 'Release night' applies until ${freeze.body.ends_at}`,
              freeze_id: freeze.body.id,
              name: 'Release night',
              ends_at: freeze.body.ends_at,
            },
          ],
        },
      });
      const listed = await t
        .http()
        .get(`/api/v1/deployments?environment=${environment}`)
        .set(bearer(ADMIN_KEY));
      expect(listed.body.total).toBe(2);
      const rollback = await t
        .http()
        .post(`/api/v1/deployments/${second.body.id}/rollback`)
        .set(bearer(ADMIN_KEY))
        .send({ reason: 'bad release' });
      expect(rollback.status).toBe(202);
    });

    it('should end a recurring window where windows that overlap or touch it end', async () => {
      const environment = uniqueEnvironment();
      // Windows of two hours every hour: one merged window, which never closes.
      await create({
        name: 'Always',
        environments: [environment],
        cron: '0 * * * *',
        duration_minutes: 120,
      });

      const [verdict] = await freezeVerdicts(request({ environment }));

      expect(verdict).toMatchObject({ status: 'blocked', details: { ends_at: null } });
      expect(verdict.reason).toContain('further notice');
      expect((await status({ environment })).body).toMatchObject({
        frozen: true,
        next_change_at: null,
      });
    });
  });
});
