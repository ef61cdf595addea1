import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
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
    new FlightdeckExpressAdapter(),
    { bodyParser: false, bufferLogs: true },
  );
  const logger = app.get(AppLogger);
  app.useLogger(logger);
  configureApp(app);
  await app.listen(config.port, config.host);
  const server = app.getHttpServer();
  // Slow clients may not hold a connection open forever while sending a request.
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = Math.min(config.requestTimeoutMs, 20_000);
  // Requests Node refuses before Flightdeck sees them (oversized headers, garbage) still get the error body.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const message =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 'Request line and headers are larger than 16 KiB'
        : 'Malformed HTTP request';
    const body = JSON.stringify({
      error: 'validation_error',
      message,
      timestamp: new Date().toISOString(),
      request_id: randomUUID(),
    });
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
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
