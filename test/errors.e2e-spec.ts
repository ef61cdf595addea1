import { randomBytes } from 'node:crypto';
import type { Response, Test } from 'supertest';
import { Deployment } from '../src/deployments/deployment.entity';
import { requestDeployment, uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import { ADMIN_KEY, bearer, startTestApp, TestApp, waitForOperation } from './helpers/test-app';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** A frame of a V8 stack trace (`at fn (/app/src/x.ts:12:5)` or `at /app/x.js:1:2`), or a source path. */
const STACK_TRACE = /\bat [^\s()]+ \([^)]*:\d+:\d+\)|\bat \/\S+:\d+:\d+|node_modules|\.[jt]s:\d+/;
const ONE_MIB = 1024 * 1024;

/** Asserts a response is the contract's error body, with exactly its fields and no stack trace. */
function expectErrorBody(res: Response, status: number, error: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const fields = Object.keys(res.body).filter((k) => k !== 'details');
  expect(fields.sort()).toEqual(['error', 'message', 'request_id', 'timestamp']);
  expect(typeof res.body.message).toBe('string');
  expect(res.body.message.length).toBeGreaterThan(0);
  if ('details' in res.body) {
    expect(typeof res.body.details).toBe('object');
    expect(res.body.details).not.toBeNull();
  }
  expect(res.body.timestamp).toMatch(RFC3339);
  expect(Math.abs(Date.parse(res.body.timestamp) - Date.now())).toBeLessThan(60_000);
  expect(typeof res.body.request_id).toBe('string');
  expect(res.body.request_id).toBe(res.headers['x-request-id']);
  expect(res.text).not.toMatch(STACK_TRACE);
}

const newRequestId = () => `test-${randomBytes(8).toString('hex')}`;

describe('Error contract (e2e)', () => {
  let t: TestApp;
  let reader: { id: string; secret: string };

  beforeAll(async () => {
    // Rollouts take long enough for a second request to find the first one still running.
    t = await startTestApp({ FLIGHTDECK_SIMULATED_DURATION_MS: '2000' });
    reader = await createKey(t, { name: 'reader', permissions: ['deployments:read'] });
  });

  afterAll(async () => {
    await t.close();
  });

  const deploymentRows = () => t.dataSource.getRepository(Deployment).count();
  const postDeployment = () => t.http().post('/api/v1/deployments').set(bearer(ADMIN_KEY));
  const validDeployment = () => ({
    service: uniqueService('err'),
    version: '1',
    environment: 'staging',
  });
  const oversized = () => ({ ...validDeployment(), description: 'x'.repeat(ONE_MIB + 10) });

  /** One request per kind of error, each answered by a different part of the stack. */
  const errorCases: { label: string; status: number; error: string; send: () => Test }[] = [
    {
      label: 'an invalid body',
      status: 400,
      error: 'validation_error',
      send: () => postDeployment().send({ version: '' }),
    },
    {
      label: 'an invalid query',
      status: 400,
      error: 'validation_error',
      send: () => t.http().get('/api/v1/deployments?per_page=0').set(bearer(ADMIN_KEY)),
    },
    {
      label: 'malformed JSON',
      status: 400,
      error: 'validation_error',
      send: () => postDeployment().set('Content-Type', 'application/json').send('{"service": '),
    },
    {
      label: 'a missing API key',
      status: 401,
      error: 'authentication_error',
      send: () => t.http().get('/api/v1/deployments'),
    },
    {
      label: 'a missing permission',
      status: 403,
      error: 'authorization_error',
      send: () =>
        t.http().post('/api/v1/deployments').set(bearer(reader.secret)).send(validDeployment()),
    },
    {
      label: 'an unknown route',
      status: 404,
      error: 'resource_not_found',
      send: () => t.http().get('/api/v1/nope').set(bearer(ADMIN_KEY)),
    },
    {
      label: 'an unknown deployment',
      status: 404,
      error: 'resource_not_found',
      send: () => t.http().get('/api/v1/deployments/nope').set(bearer(ADMIN_KEY)),
    },
    {
      label: 'an unknown operation',
      status: 404,
      error: 'resource_not_found',
      send: () => t.http().post('/api/v1/operations/nope/cancel').set(bearer(ADMIN_KEY)),
    },
    {
      label: 'a body over 1 MiB',
      status: 413,
      error: 'payload_too_large',
      send: () => postDeployment().send(oversized()),
    },
  ];

  describe('error body', () => {
    it.each(errorCases)(
      'should answer $label with $status $error in exactly the contract shape, without a stack trace',
      async ({ send, status, error }) => {
        expectErrorBody(await send(), status, error);
      },
    );

    it('should list every failing field in details.errors as {field, message}', async () => {
      const res = await postDeployment().send({ version: '', environment: 'Prod!' });

      expectErrorBody(res, 400, 'validation_error');
      expect(Object.keys(res.body.details)).toEqual(['errors']);
      for (const e of res.body.details.errors) {
        expect(Object.keys(e).sort()).toEqual(['field', 'message']);
        expect(typeof e.message).toBe('string');
      }
      const fields = (res.body.details.errors as { field: string }[]).map((e) => e.field);
      expect(fields.sort()).toEqual(['environment', 'service', 'version']);
    });
  });

  describe('X-Request-Id', () => {
    it('should echo the caller’s X-Request-Id on a successful response', async () => {
      for (const send of [
        () => t.http().get('/healthz'),
        () => t.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY)),
      ]) {
        const id = newRequestId();
        const res = await send().set('X-Request-Id', id);
        expect(res.status).toBe(200);
        expect(res.headers['x-request-id']).toBe(id);
      }
    });

    it.each(errorCases)(
      'should echo the caller’s X-Request-Id on $label and repeat it as request_id',
      async ({ send, status }) => {
        const id = newRequestId();
        const res = await send().set('X-Request-Id', id);
        expect(res.status).toBe(status);
        expect(res.headers['x-request-id']).toBe(id);
        expect(res.body.request_id).toBe(id);
      },
    );

    it('should generate a fresh id on a success when the caller sends none', async () => {
      const a = await t.http().get('/healthz');
      const b = await t.http().get('/api/v1/auth/whoami').set(bearer(ADMIN_KEY));

      expect([a.status, b.status]).toEqual([200, 200]);
      for (const res of [a, b]) {
        expect(typeof res.headers['x-request-id']).toBe('string');
        expect(res.headers['x-request-id'].length).toBeGreaterThanOrEqual(8);
      }
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });

    it.each(errorCases)(
      'should generate an id on $label when the caller sends none, and repeat it as request_id',
      async ({ send }) => {
        const [a, b] = [await send(), await send()];
        for (const res of [a, b]) {
          expect(res.headers['x-request-id'].length).toBeGreaterThanOrEqual(8);
          expect(res.body.request_id).toBe(res.headers['x-request-id']);
        }
        expect(a.body.request_id).not.toBe(b.body.request_id);
      },
    );
  });

  describe('unknown routes', () => {
    it.each([
      ['GET', '/api/v1/nope'],
      ['GET', '/nope'],
      ['DELETE', '/api/v1/deployments'],
      ['PUT', '/api/v1/deployments/some-id'],
      ['POST', '/api/v1/auth/whoami'],
    ])('should answer %s %s with 404 resource_not_found', async (method, path) => {
      const withKey = await t
        .http()
        [method.toLowerCase() as 'get' | 'delete' | 'put' | 'post'](path)
        .set(bearer(ADMIN_KEY));
      expectErrorBody(withKey, 404, 'resource_not_found');
    });

    it('should answer an unknown route outside /api/v1 with 404 without needing a key', async () => {
      expectErrorBody(await t.http().get('/nope'), 404, 'resource_not_found');
    });
  });

  describe('POST /api/v1/deployments request bodies', () => {
    it('should answer malformed JSON with 400 validation_error and write nothing', async () => {
      const before = await deploymentRows();
      const res = await postDeployment()
        .set('Content-Type', 'application/json')
        .send('{"service": "a", "version": "1", "environment": "staging"');

      expectErrorBody(res, 400, 'validation_error');
      expect(await deploymentRows()).toBe(before);
    });

    it('should answer a body over 1 MiB with 413 payload_too_large and write nothing', async () => {
      const before = await deploymentRows();
      const body = oversized();

      const res = await postDeployment().send(body);

      expectErrorBody(res, 413, 'payload_too_large');
      expect(await deploymentRows()).toBe(before);
      expect(await t.dataSource.getRepository(Deployment).countBy({ service: body.service })).toBe(
        0,
      );
    });

    it('should accept a body just under 1 MiB as far as the size limit goes', async () => {
      const body = { ...validDeployment(), description: 'x'.repeat(ONE_MIB - 1024) };
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(ONE_MIB);

      const res = await postDeployment().send(body);

      // Parsed, then refused by validation: description allows at most 2000 characters.
      expectErrorBody(res, 400, 'validation_error');
      expect((res.body.details.errors as { field: string }[]).map((e) => e.field)).toEqual([
        'description',
      ]);
    });

    it.each([
      ['an empty JSON array', '[]'],
      [
        'a JSON array holding a valid deployment',
        '[{"service":"arr","version":"1","environment":"staging"}]',
      ],
      ['a JSON string', '"deploy please"'],
      ['a JSON number', '42'],
      ['JSON null', 'null'],
      ['JSON true', 'true'],
    ])('should answer %s as the body with 400 validation_error, never 500', async (_, raw) => {
      const before = await deploymentRows();

      const res = await postDeployment().set('Content-Type', 'application/json').send(raw);

      expectErrorBody(res, 400, 'validation_error');
      expect(await deploymentRows()).toBe(before);
    });
  });

  describe('409 conflict', () => {
    it('should answer a second rollout of a service and environment while one runs with 409 conflict', async () => {
      const service = uniqueService('conflict');
      const first = await requestDeployment(t, {
        service,
        version: '1',
        environment: 'production',
      });
      expect(first.status).toBe(201);

      const second = await requestDeployment(t, {
        service,
        version: '2',
        environment: 'production',
      });

      expectErrorBody(second, 409, 'conflict');
      expect(second.body.details).toMatchObject({
        deployment_id: first.body.id,
        operation_id: first.body.operation_id,
      });
      expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(1);

      const cancel = await t
        .http()
        .post(`/api/v1/operations/${first.body.operation_id}/cancel`)
        .set(bearer(ADMIN_KEY));
      expect(cancel.status).toBe(202);
      expect((await waitForOperation(t, first.body.operation_id)).status).toBe('cancelled');
    });
  });

  describe('public routes', () => {
    it.each(['/healthz', '/readyz'])(
      'should answer GET %s with 200 without an API key, and with a bad one',
      async (path) => {
        const anonymous = await t.http().get(path);
        const badKey = await t.http().get(path).set('Authorization', 'Bearer nonsense');

        for (const res of [anonymous, badKey]) {
          expect(res.status).toBe(200);
          expect(res.headers['content-type']).toMatch(/^application\/json/);
          expect(res.body.status).toBe('ok');
        }
      },
    );
  });

  describe('GET /docs-json', () => {
    type OpenApiOperation = {
      operationId?: string;
      summary?: string;
      tags?: string[];
      security?: Record<string, string[]>[];
      responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
    };
    type OpenApiDocument = {
      openapi: string;
      paths: Record<string, Record<string, OpenApiOperation>>;
      components: {
        securitySchemes: Record<string, { type: string; scheme?: string }>;
        schemas: Record<string, { required?: string[] }>;
      };
    };
    let doc: OpenApiDocument;
    let operations: { route: string; operation: OpenApiOperation }[];

    beforeAll(async () => {
      const res = await t.http().get('/docs-json');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      doc = res.body as OpenApiDocument;
      operations = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/api/v1/'))
        .flatMap(([path, item]) =>
          Object.entries(item).map(([method, operation]) => ({
            route: `${method.toUpperCase()} ${path}`,
            operation,
          })),
        );
    });

    it('should be a public OpenAPI 3 document listing every /api/v1 route of the contract', () => {
      expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
      // Later work adds routes; these are the ones the v1 contract names.
      expect(operations.map((o) => o.route)).toEqual(
        expect.arrayContaining([
          'GET /api/v1/auth/whoami',
          'GET /api/v1/auth/keys',
          'POST /api/v1/auth/keys',
          'DELETE /api/v1/auth/keys/{id}',
          'GET /api/v1/deployments',
          'POST /api/v1/deployments',
          'POST /api/v1/deployments/async',
          'GET /api/v1/deployments/{id}',
          'GET /api/v1/deployments/{id}/events',
          'POST /api/v1/deployments/{id}/rollback',
          'GET /api/v1/operations',
          'GET /api/v1/operations/{id}',
          'POST /api/v1/operations/{id}/cancel',
        ]),
      );
    });

    it('should give every /api/v1 operation a unique operationId, a summary and a tag', () => {
      for (const { route, operation } of operations) {
        expect({ route, operationId: typeof operation.operationId }).toEqual({
          route,
          operationId: 'string',
        });
        expect({ route, summary: (operation.summary ?? '').length > 0 }).toEqual({
          route,
          summary: true,
        });
        expect({ route, tags: (operation.tags ?? []).length > 0 }).toEqual({ route, tags: true });
      }
      const ids = operations.map((o) => o.operation.operationId);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('should require bearer authentication on every /api/v1 operation and document its 401', () => {
      const bearerSchemes = Object.entries(doc.components.securitySchemes)
        .filter(([, s]) => s.type === 'http' && s.scheme?.toLowerCase() === 'bearer')
        .map(([name]) => name);
      expect(bearerSchemes.length).toBeGreaterThan(0);
      const errorSchema = doc.components.schemas.ErrorResponseDto;
      expect(errorSchema.required?.sort()).toEqual(['error', 'message', 'request_id', 'timestamp']);

      for (const { route, operation } of operations) {
        const schemes = (operation.security ?? []).flatMap((s) => Object.keys(s));
        expect({ route, bearer: schemes.some((s) => bearerSchemes.includes(s)) }).toEqual({
          route,
          bearer: true,
        });
        const unauthorized = operation.responses?.['401'];
        const schemas = Object.values(unauthorized?.content ?? {}).map((c) => c.schema?.$ref);
        expect({ route, schemas }).toEqual({
          route,
          schemas: expect.arrayContaining(['#/components/schemas/ErrorResponseDto']),
        });
      }
    });
  });

  describe('GET /docs', () => {
    it('should serve the Swagger UI as HTML without an API key', async () => {
      const res = await t.http().get('/docs');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('swagger-ui');
    });
  });

  describe('ids in paths', () => {
    const ids = [
      '%00',
      'a%00b',
      'with%20space',
      encodeURIComponent('é漢'),
      encodeURIComponent("x'; DROP TABLE deployments; --"),
      'x'.repeat(300),
      '00000000-0000-0000-0000-000000000000',
    ];

    it.each([
      ['GET', '/api/v1/deployments/{id}'],
      ['GET', '/api/v1/deployments/{id}/events'],
      ['POST', '/api/v1/deployments/{id}/rollback'],
      ['GET', '/api/v1/operations/{id}'],
      ['GET', '/api/v1/operations/{id}/logs'],
      ['GET', '/api/v1/operations/{id}/events'],
      ['POST', '/api/v1/operations/{id}/cancel'],
      ['DELETE', '/api/v1/auth/keys/{id}'],
    ])(
      'should answer %s %s with 404 resource_not_found whatever the id looks like',
      async (method, route) => {
        for (const id of ids) {
          const res = await t
            .http()
            [method.toLowerCase() as 'get' | 'post' | 'delete'](route.replace('{id}', id))
            .set(bearer(ADMIN_KEY));
          expect({ id, status: res.status }).toEqual({ id, status: 404 });
          expectErrorBody(res, 404, 'resource_not_found');
        }
      },
    );
  });

  describe('bodies class-validator cannot see into', () => {
    it('should answer JSON nested deeper than 32 levels with 400, however deep', async () => {
      for (const depth of [40, 5000]) {
        const res = await t
          .http()
          .post('/api/v1/deployments')
          .set(bearer(ADMIN_KEY))
          .set('Content-Type', 'application/json')
          .set('Idempotency-Key', `deep-${depth}`)
          .send('['.repeat(depth) + ']'.repeat(depth));
        expectErrorBody(res, 400, 'validation_error');
        expect(res.body.message).toMatch(/nested deeper than 32 levels/);
      }
    });

    it.each(['__proto__', 'constructor', 'toString', 'prototype'])(
      'should refuse an unknown field named %s like any other unknown field',
      async (field) => {
        const res = await t
          .http()
          .post('/api/v1/deployments')
          .set(bearer(ADMIN_KEY))
          .set('Content-Type', 'application/json')
          .send(`{"service":"svc-x","version":"1","environment":"staging","${field}":""}`);
        expectErrorBody(res, 400, 'validation_error');
        expect(res.body.details.errors).toEqual([
          { field, message: `${field} is not a known field` },
        ]);
      },
    );
  });

  describe('strings holding a NUL character', () => {
    // No database stores "\u0000" in text (PostgreSQL refuses it): the pipe refuses it first, with a 400.
    it.each([
      [
        'POST',
        '/api/v1/auth/keys',
        { name: 'nul\u0000name', permissions: ['audit:read'], environments: ['*'] },
        'name',
      ],
      [
        'POST',
        '/api/v1/deployments',
        { service: 'nul', version: '1', environment: 'staging', description: 'a\u0000b' },
        'description',
      ],
      ['POST', '/api/v1/deployments/some-id/rollback', { reason: 'a\u0000b' }, 'reason'],
    ])(
      'should answer %s %s with 400 validation_error naming the field',
      async (method, path, body, field) => {
        const res = await t.http().post(path).set(bearer(ADMIN_KEY)).send(body);
        expectErrorBody(res, 400, 'validation_error');
        expect(res.body.details.errors).toEqual([
          { field, message: `${field} must not contain NUL (\\u0000) characters` },
        ]);
      },
    );

    it('should answer a NUL character in a query value with 400', async () => {
      const res = await t.http().get('/api/v1/operations?type=a%00b').set(bearer(ADMIN_KEY));
      expectErrorBody(res, 400, 'validation_error');
      expect(res.body.details.errors[0].field).toBe('type');
    });
  });
});
