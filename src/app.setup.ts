import type { NestExpressApplication } from '@nestjs/platform-express';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { json, type NextFunction, type Request, type Response } from 'express';
import { sendError } from './common/errors/all-exceptions.filter';
import { requestIdMiddleware } from './common/request-context';
import { ApiError } from './common/errors/api-error';
import { refuseUnseeable } from './common/validation';
import { AppConfig } from './config/app-config';
import helmet from 'helmet';

export const BODY_LIMIT = '1mb';
/** Response headers a browser client may read when CORS is on. */
const EXPOSED_HEADERS = [
  'X-Request-Id',
  'Location',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Idempotent-Replayed',
];

/**
 * HTTP plumbing shared by `main.ts` and the e2e tests, so both run the same pipeline: request
 * ids, the JSON body limit, and Swagger.
 */
export function configureApp(app: NestExpressApplication): void {
  const config = app.get(AppConfig);
  app.disable('x-powered-by');
  app.set('etag', false); // API answers change under the same URL; hashing every body buys nothing
  app.set('trust proxy', config.trustProxy);
  // Flightdeck is often reached over plain HTTP inside a network: asking browsers to upgrade
  // Swagger UI's own scripts to HTTPS would break it there.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  if (config.corsOrigins.length > 0)
    app.enableCors({ origin: config.corsOrigins, exposedHeaders: EXPOSED_HEADERS });
  app.use(requestIdMiddleware);
  const parseJson = json({ limit: BODY_LIMIT });
  // body-parser fails before Nest's pipeline; its errors get the same body as every other error.
  // Bodies are checked for what class-validator cannot see before anything else walks them.
  app.use((req: Request, res: Response, next: NextFunction) =>
    parseJson(req, res, (error?: unknown) => {
      if (error) return sendError(req, res, error);
      const problem = refuseUnseeable(req.body);
      if (problem)
        return sendError(
          req,
          res,
          ApiError.validation(`Invalid ${problem.field}: ${problem.message}`, [problem]),
        );
      next();
    }),
  );
  const document = createOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

/** The OpenAPI document, from the controllers and DTOs themselves; `openapi.json` is this, committed. */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Flightdeck')
      .setDescription(
        'A self-hosted deployment control plane: deploy a version of a service to an environment, ' +
          'follow the rollout, roll back, and see who did what. Every error has the `ErrorResponseDto` body.',
      )
      .setVersion('1.0.0')
      .setLicense('UNLICENSED', 'https://choosealicense.com/no-permission/')
      .setContact('Flightdeck maintainers', '', 'platform@example.org')
      .addServer('/', 'This Flightdeck')
      .addTag('deployments', 'Deploy versions, see what runs where, roll back')
      .addTag('locks', 'Keep others off a service or an environment while you work on it')
      .addTag('operations', 'The long-running work behind rollouts: progress, logs, events, cancel')
      .addTag('auth', 'API keys and the caller')
      .addTag('audit', 'Who did what')
      .addTag('freezes', 'Freeze windows: periods in which rollouts are blocked')
      .addTag('approvals', 'Reviews of rollouts that wait for approval')
      .addTag('health', 'Liveness and readiness probes')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'fdk_ API key',
        description: 'An API key secret (fdk_…)',
      })
      .build(),
    { operationIdFactory: (_controller, method) => method },
  );
  // Routes without a bearer requirement are the @Public() ones: say so explicitly.
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete]) {
      if (operation && !operation.security) operation.security = [];
    }
  }
  return document;
}
