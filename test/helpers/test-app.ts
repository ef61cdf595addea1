import { randomBytes } from 'node:crypto';
import type { ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import type { App } from 'supertest/types';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { FlightdeckExpressAdapter } from '../../src/common/express-adapter';
import { AppConfig } from '../../src/config/app-config';
import { createTestDatabase, TestDatabase } from './test-database';

export const ADMIN_KEY = `fdk_test_admin_${randomBytes(16).toString('hex')}`;

export interface TestApp {
  app: NestExpressApplication;
  http: () => ReturnType<typeof request>;
  dataSource: DataSource;
  database: TestDatabase;
  /** An authorised request helper: `api(key).get(path)`. */
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

/**
 * Boots the real application (same module, pipes, guard, filter and HTTP setup as `main.ts`)
 * on a database of its own. Pass `database` to boot again on an existing one (restarts), and
 * `imports` to add modules of the test's own (routes the service does not have).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  database?: TestDatabase,
  imports: NonNullable<ModuleMetadata['imports']> = [],
): Promise<TestApp> {
  const db = database ?? (await createTestDatabase());
  const config = AppConfig.fromEnvironment({
    ...db.env,
    FLIGHTDECK_ADMIN_KEY: ADMIN_KEY,
    FLIGHTDECK_SIMULATED_DURATION_MS: '200',
    FLIGHTDECK_SHUTDOWN_GRACE_MS: '5000',
    FLIGHTDECK_LOG_LEVEL: 'warn',
    FLIGHTDECK_LOG_FORMAT: 'json', // whether or not the tests run on a terminal
    // Suites fire many requests; the rate limiter's own suite turns it on.
    FLIGHTDECK_RATE_LIMIT_PER_MINUTE: '0',
    ...env,
  });
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(config), ...imports],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>(
    new FlightdeckExpressAdapter({ requestTimeoutMs: config.requestTimeoutMs }),
    { bodyParser: false, logger: ['error'] },
  );
  configureApp(app);
  await app.init();
  const server = app.getHttpServer() as App;
  return {
    app,
    http: () => request(server),
    dataSource: app.get(DataSource),
    database: db,
    close: async ({ keepDatabase = false } = {}) => {
      await app.close();
      if (!keepDatabase) await db.drop();
    },
  };
}

/** `Authorization` header for a key secret. */
export const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls an operation until it finishes; asserts progress never goes down on the way. */
export async function waitForOperation(
  t: TestApp,
  operationId: string,
  secret = ADMIN_KEY,
  timeoutMs = 20000,
): Promise<Record<string, any>> {
  const started = Date.now();
  let lastProgress = 0;
  while (Date.now() - started < timeoutMs) {
    const res = await t.http().get(`/api/v1/operations/${operationId}`).set(bearer(secret));
    if (res.status !== 200) throw new Error(`GET operation answered ${res.status}: ${res.text}`);
    if (res.body.progress < lastProgress)
      throw new Error(`progress went down: ${lastProgress} -> ${res.body.progress}`);
    lastProgress = res.body.progress;
    if (['succeeded', 'failed', 'cancelled'].includes(res.body.status)) return res.body;
    await sleep(25);
  }
  throw new Error(`operation ${operationId} did not finish within ${timeoutMs} ms`);
}

/** Polls until `check` passes or the time runs out. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
