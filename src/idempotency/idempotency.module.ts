import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { IdempotencyRecord } from './idempotency-record.entity';
import { IdempotencyMiddleware } from './idempotency.middleware';
import { IdempotencyService } from './idempotency.service';

/** `Idempotency-Key` on every POST, kept in the database so it holds across replicas. */
@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyRecord]), AuthModule],
  providers: [IdempotencyService],
})
export class IdempotencyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(IdempotencyMiddleware).forRoutes({ path: '*path', method: RequestMethod.POST });
  }
}
