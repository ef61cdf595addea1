import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OperationHandlerRegistry } from './operation-handler.registry';
import { Operation } from './operation.entity';
import { OperationRunner } from './operation.runner';
import { OperationStore } from './operation.store';
import { OperationsController } from './operations.controller';
import { InProcessOperationQueue, OperationQueue } from './operations.queue';
import { OperationsService } from './operations.service';

/** A generic engine for long-running work; it knows nothing about what the work is. */
@Module({
  imports: [TypeOrmModule.forFeature([Operation])],
  controllers: [OperationsController],
  providers: [
    OperationHandlerRegistry,
    OperationStore,
    OperationRunner,
    OperationsService,
    { provide: OperationQueue, useClass: InProcessOperationQueue },
  ],
  exports: [OperationsService],
})
export class OperationsModule implements OnApplicationBootstrap {
  constructor(
    private readonly runner: OperationRunner,
    private readonly queue: OperationQueue,
  ) {}

  onApplicationBootstrap(): void {
    this.runner.startSweeping((id) => this.queue.enqueue(id));
  }
}
