import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { json, type NextFunction, type Request, type Response } from 'express';
import { sendError } from './common/errors/all-exceptions.filter';
import { requestIdMiddleware } from './common/request-context';

export const BODY_LIMIT = '1mb';

/**
 * HTTP plumbing shared by `main.ts` and the e2e tests, so both run the same pipeline: request
 * ids, the JSON body limit, and Swagger.
 */
export function configureApp(app: NestExpressApplication): void {
  app.disable('x-powered-by');
  app.use(requestIdMiddleware);
  const parseJson = json({ limit: BODY_LIMIT });
  // body-parser fails before Nest's pipeline; its errors get the same body as every other error.
  app.use((req: Request, res: Response, next: NextFunction) =>
    parseJson(req, res, (error?: unknown) => (error ? sendError(req, res, error) : next())),
  );
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Flightdeck')
      .setDescription('Deploy services, watch rollouts, roll back, and see who did what.')
      .setVersion('1.0.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key secret (fdk_…)' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
