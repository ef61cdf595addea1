import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from './app.module';
import { ListAuditEventsQueryDto } from './audit/dto/audit-event.dto';
import { ListDeploymentsQueryDto } from './deployments/dto/list-deployments-query.dto';
import { ListLocksQueryDto } from './locks/dto/list-locks-query.dto';
import { FreezeStatusQueryDto } from './freezes/dto/freeze-status-query.dto';
import { ListOperationsQueryDto } from './operations/dto/list-operations-query.dto';
import { OperationLogsQueryDto } from './operations/dto/operation-logs.dto';
import { GetOperationQueryDto } from './operations/dto/operation-logs.dto';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { Database } from './database/database';
import { OperationRunner } from './operations/operation.runner';

const QUERY_DTOS = [
  ListDeploymentsQueryDto,
  ListOperationsQueryDto,
  GetOperationQueryDto,
  OperationLogsQueryDto,
  ListAuditEventsQueryDto,
  ListLocksQueryDto,
];

describe('the validation pipe on an empty query string', () => {
  // The pipe answers a request without a query string with the DTO's defaults directly; that is
  // only right while those defaults are exactly what class-transformer and class-validator make of `{}`.
  it.each(QUERY_DTOS.map((dto) => [dto.name, dto] as const))(
    'should give %s the same defaults as a full validation',
    async (_name, metatype) => {
      const metadata: ArgumentMetadata = { type: 'query', metatype };
      const full = new ValidationPipe({
        whitelist: true,
        forbidNonWhitelisted: true,
        transform: true,
      });

      const fast = await createValidationPipe().transform({}, metadata);

      expect(fast).toBeInstanceOf(metatype);
      expect(fast).toEqual(await full.transform({}, metadata));
    },
  );

  it('should refuse an empty query string when the DTO requires a field', async () => {
    const metadata: ArgumentMetadata = { type: 'query', metatype: FreezeStatusQueryDto };

    await expect(createValidationPipe().transform({}, metadata)).rejects.toMatchObject({
      code: 'validation_error',
      details: { errors: [{ field: 'environment', message: 'environment is required' }] },
    });
  });

  it('should still refuse what a full validation refuses when a query is given', async () => {
    const metadata: ArgumentMetadata = { type: 'query', metatype: ListDeploymentsQueryDto };

    await expect(createValidationPipe().transform({ page: '0' }, metadata)).rejects.toMatchObject({
      code: 'validation_error',
    });
  });
});

describe('AppModule', () => {
  it('should run one operations engine, however many modules import it', async () => {
    const config = AppConfig.fromEnvironment({ DATABASE_URL: 'sqlite::memory:' });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config)],
    }).compile();
    try {
      expect(moduleRef.get(OperationRunner, { strict: false, each: true })).toHaveLength(1);
      expect(moduleRef.get(Database, { strict: false, each: true })).toHaveLength(1);
    } finally {
      await moduleRef.close();
    }
  });
});
