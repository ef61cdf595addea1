import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { FlightdeckExpressAdapter } from './common/express-adapter';
import { AppConfig } from './config/app-config';
import { AppLogger } from './observability/logging';

async function bootstrap(): Promise<void> {
  const config = AppConfig.fromEnvironment();
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config),
    new FlightdeckExpressAdapter({ requestTimeoutMs: config.requestTimeoutMs }),
    { bodyParser: false, bufferLogs: true },
  );
  const logger = app.get(AppLogger);
  app.useLogger(logger);
  configureApp(app);
  await app.listen(config.port, config.host);
  const server = app.getHttpServer();
  logger.log(
    `Flightdeck listening on http://${config.host}:${config.port} (Swagger UI at /docs)`,
    'Bootstrap',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(
      `${signal}: no new connections; finishing requests in flight and running operations`,
      'Shutdown',
    );
    // A hard stop if anything hangs past the grace periods.
    setTimeout(() => process.exit(1), config.shutdownGraceMs * 2 + 10_000).unref();
    // Stop accepting at once; requests in flight finish; streams still open after the grace are cut.
    const drained = new Promise<void>((resolve) => server.close(() => resolve()));
    const cut = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
    await drained;
    clearTimeout(cut);
    await app.close(); // operations get their grace, then the queue and the database close
    logger.log('stopped', 'Shutdown');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
