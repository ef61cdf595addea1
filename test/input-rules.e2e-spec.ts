import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { ApiKey } from '../src/auth/api-key.entity';
import { Deployment } from '../src/deployments/deployment.entity';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { ADMIN_KEY, bearer, startTestApp, TestApp } from './helpers/test-app';

/** `400 validation_error` whose details name `field`, in the contract's body. */
function expectRefused(res: Response, field: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({
    status: 400,
    error: 'validation_error',
  });
  expect(res.body.request_id).toBe(res.headers['x-request-id']);
  expect((res.body.details.errors as Array<{ field: string }>).map((e) => e.field)).toContain(
    field,
  );
}

const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

describe('Input rules (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const createKey = (body: Record<string, unknown>) =>
    t
      .http()
      .post('/api/v1/auth/keys')
      .set(bearer(ADMIN_KEY))
      .send({ permissions: ['deployments:read'], environments: ['*'], ...body });
  const keysNamed = (name: string) => t.dataSource.getRepository(ApiKey).countBy({ name });

  describe('date-times are RFC 3339', () => {
    it.each([
      ['a week date', '2027-W01'],
      ['the basic format', '20270101T000000Z'],
      ['a date without a time', '2027-01-01'],
      ['a time without an offset', '2027-01-01T00:00:00'],
      ['February 30', '2027-02-30T00:00:00Z'],
      ['February 29 of a common year', '2027-02-29T00:00:00Z'],
      ['hour 24', '2027-01-01T24:00:00Z'],
      ['an offset of 24 hours', '2027-01-01T00:00:00+24:00'],
      ['a space for T', '2027-01-01 00:00:00Z'],
      ['a year past 9999 once in UTC', '9999-12-31T23:00:00-02:00'],
      ['a number', 1798761600000],
    ])(
      'should refuse %s as expires_at with 400 naming the field, creating nothing',
      async (_, value) => {
        const name = uniqueName('expiry');

        const res = await createKey({ name, expires_at: value });

        expectRefused(res, 'expires_at');
        expect(await keysNamed(name)).toBe(0);
      },
    );

    it.each([
      ['UTC', '2999-01-01T00:00:00Z', '2999-01-01T00:00:00.000Z'],
      ['an offset', '2999-01-01T02:30:00+02:30', '2999-01-01T00:00:00.000Z'],
      ['lower-case t and z', '2999-01-01t00:00:00z', '2999-01-01T00:00:00.000Z'],
      ['microseconds', '2999-01-01T00:00:00.123456Z', '2999-01-01T00:00:00.123Z'],
      ['February 29 of a leap year', '2028-02-29T00:00:00-01:00', '2028-02-29T01:00:00.000Z'],
    ])('should accept expires_at with %s, answering it in UTC', async (_, value, expected) => {
      const res = await createKey({ name: uniqueName('expiry'), expires_at: value });

      expect(res.status).toBe(201);
      expect(res.body.expires_at).toBe(expected);
    });

    it.each(['since', 'until'])(
      'should refuse a %s that is not an RFC 3339 date-time, and accept one with an offset',
      async (field) => {
        const list = (value: string) =>
          t
            .http()
            .get('/api/v1/audit-events')
            .query({ [field]: value })
            .set(bearer(ADMIN_KEY));

        for (const bad of ['2027-W01', '20270101T000000Z', '2027-02-30T00:00:00Z', '2027-01-01'])
          expectRefused(await list(bad), field);
        expect((await list('2027-01-01T00:00:00+01:00')).status).toBe(200);
      },
    );
  });

  describe('single-line text refuses control characters', () => {
    const CONTROLS: Array<[string, string]> = [
      ['ESC', '\u001b[2Jgone'],
      ['a newline', 'one\ntwo'],
      ['a carriage return', 'one\rtwo'],
      ['a tab', 'one\ttwo'],
      ['DEL', 'one\u007ftwo'],
      ['a C1 control (CSI)', 'one\u009b2Jtwo'],
      ['a right-to-left override', 'txt.\u202eexe'],
      ['a bidi isolate', 'one\u2066two\u2069'],
      ['a line separator', 'one\u2028two'],
    ];

    it.each(CONTROLS)('should refuse a key name with %s, creating nothing', async (_, text) => {
      const name = `${uniqueName('ctl')}${text}`;

      const res = await createKey({ name });

      expectRefused(res, 'name');
      expect(await keysNamed(name)).toBe(0);
    });

    it.each(CONTROLS)('should refuse a deployment description with %s', async (_, text) => {
      const service = uniqueService('ctl');

      const res = await requestDeployment(t, { service, version: '1', description: text });

      expectRefused(res, 'description');
      expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(0);
    });

    it('should refuse a rollback reason with a control character, changing nothing', async () => {
      const service = uniqueService('ctl');
      await deployAndWait(t, { service, version: '1' });
      const current = await deployAndWait(t, { service, version: '2' });

      const res = await t
        .http()
        .post(`/api/v1/deployments/${current.id}/rollback`)
        .set(bearer(ADMIN_KEY))
        .send({ reason: 'bad release\u001b]0;pwned\u0007' });

      expectRefused(res, 'reason');
      const rows = await t.dataSource.getRepository(Deployment).findBy({ service });
      expect(rows.map((r) => r.status).sort()).toEqual(['successful', 'successful']);
    });

    it.each([
      ['/api/v1/audit-events', 'action'],
      ['/api/v1/audit-events', 'actor_key_id'],
      ['/api/v1/audit-events', 'target_id'],
      ['/api/v1/operations', 'type'],
    ])('should refuse a control character in the %s filter %s', async (path, field) => {
      const res = await t
        .http()
        .get(path)
        .query({ [field]: 'x\u001by' })
        .set(bearer(ADMIN_KEY));

      expectRefused(res, field);
    });

    it('should still take text that is printable: accents, CJK, emoji, right-to-left script', async () => {
      const text = 'Déploiement 部署 🚀 ‍👩‍💻 نشر';
      const name = uniqueName(text);

      const key = await createKey({ name });
      const deployed = await requestDeployment(t, {
        service: uniqueService('ctl'),
        version: '1',
        description: text,
      });

      expect(key.status).toBe(201);
      expect(key.body.name).toBe(name);
      expect(deployed.status).toBe(201);
      expect(deployed.body.description).toBe(text);
    });
  });
});
