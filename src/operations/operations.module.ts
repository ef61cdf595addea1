import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { DatabaseModule } from '../database/database.module';
import { Metrics } from '../observability/metrics';
import { ObservabilityModule } from '../observability/observability.module';
import { OperationHandlerRegistry } from './operation-handler.registry';
import { OperationLogLine } from './operation-log-line.entity';
import { OperationLogLinesRepository } from './operation-log-lines.repository';
import { OperationLogs } from './operation-logs';
import { OperationWatcher } from './operation-watcher';
import { Operation, OperationStatus } from './operation.entity';
import { OperationRunner } from './operation.runner';
import { OperationStore } from './operation.store';
import { OperationsController } from './operations.controller';
import { OperationsRepository } from './operations.repository';
import {
  BullMqOperationQueue,
  InProcessOperationQueue,
  OPERATIONS_QUEUE,
  OperationQueue,
  OperationsProcessor,
} from './operations.queue';
import { OperationsService } from './operations.service';
import { redisConnection } from '../common/redis';

const engines = new WeakMap<AppConfig, DynamicModule>();

/** A generic engine for long-running work; it knows nothing about what the work is. */
@Module({})
export class OperationsModule implements OnApplicationBootstrap {
  constructor(
    private readonly runner: OperationRunner,
    private readonly queue: OperationQueue,
    private readonly operations: OperationsRepository,
    private readonly metrics: Metrics,
  ) {}

  /**
   * In-process by default; through BullMQ on Redis when `REDIS_URL` is set. The same settings give
   * the same module, so the modules that import it share one engine.
   */
  static forRoot(config: AppConfig): DynamicModule {
    let module = engines.get(config);
    if (!module) engines.set(config, (module = OperationsModule.build(config)));
    return module;
  }

  private static build(config: AppConfig): DynamicModule {
    const distributed = config.redisUrl
      ? {
          imports: [
            BullModule.forRoot({
              connection: redisConnection(config.redisUrl),
              prefix: config.queuePrefix,
            }),
            BullModule.registerQueue({ name: OPERATIONS_QUEUE }),
          ],
          providers: [
            { provide: OperationQueue, useClass: BullMqOperationQueue },
            OperationsProcessor,
          ],
        }
      : {
          imports: [],
          providers: [{ provide: OperationQueue, useClass: InProcessOperationQueue }],
        };
    return {
      module: OperationsModule,
      imports: [
        DatabaseModule,
        DatabaseModule.forFeature([Operation, OperationLogLine]),
        ObservabilityModule,
        ...distributed.imports,
      ],
      controllers: [OperationsController],
      providers: [
        OperationsRepository,
        OperationLogLinesRepository,
        OperationHandlerRegistry,
        OperationStore,
        OperationLogs,
        OperationWatcher,
        OperationRunner,
        OperationsService,
        ...distributed.providers,
      ],
      exports: [OperationsService],
    };
  }

  onApplicationBootstrap(): void {
    this.metrics.queueDepth = async () => {
      const [pending, running] = await Promise.all([
        this.operations.countWithStatus(OperationStatus.Pending),
        this.operations.countWithStatus(OperationStatus.Running),
      ]);
      return { pending, running };
    };
    this.runner.startSweeping((id) => this.queue.enqueue(id));
  }
}
