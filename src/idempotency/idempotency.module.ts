import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { DatabaseModule } from '../database/database.module';
import { IdempotencyRecord } from './idempotency-record.entity';
import { IdempotencyRecordsRepository } from './idempotency-records.repository';
import { IdempotencyMiddleware } from './idempotency.middleware';
import { IdempotencyService } from './idempotency.service';

/** `Idempotency-Key` on every POST, kept in the database so it holds across replicas. */
@Module({
  imports: [DatabaseModule, DatabaseModule.forFeature([IdempotencyRecord]), AuthModule],
  providers: [IdempotencyRecordsRepository, IdempotencyService],
})
export class IdempotencyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // For every method, though only POSTs are its business (it lets the others by at once):
    // mounted for POST alone, Express would take it for the route a POST matched.
    consumer.apply(IdempotencyMiddleware).forRoutes('*path');
  }
}
