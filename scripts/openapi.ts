// Writes openapi.json from the code (`npm run openapi`), or with --check fails when the committed
// file differs from what the code describes (`npm run openapi:check`, run in CI).
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../src/app.module';
import { createOpenApiDocument } from '../src/app.setup';
import { AppConfig } from '../src/config/app-config';

const FILE = join(__dirname, '..', 'openapi.json');

async function main(): Promise<void> {
  const config = AppConfig.fromEnvironment({
    DATABASE_URL: 'sqlite::memory:',
    FLIGHTDECK_ADMIN_KEY: 'fdk_openapi_generator_only',
  });
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: ['error'] });
  const text = `${JSON.stringify(createOpenApiDocument(app), null, 2)}\n`;
  await app.close();
  if (process.argv.includes('--check')) {
    const committed = readFileSync(FILE, 'utf8');
    if (committed !== text) {
      console.error(
        'openapi.json is out of date with the code: run `npm run openapi` and commit it.',
      );
      process.exit(1);
    }
    console.log('openapi.json matches the code');
    return;
  }
  writeFileSync(FILE, text);
  console.log(`wrote ${FILE}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
