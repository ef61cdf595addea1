import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { OperationRunner } from './operation.runner';

export const OPERATIONS_QUEUE = 'operations';

/** A job names an operation; the row in the database holds everything else. */
export interface OperationJob {
  operationId: string;
}

/** Where committed pending operations go to be run. */
export abstract class OperationQueue {
  abstract enqueue(operationId: string): Promise<void>;
  /** Resolves when the queue is reachable (readiness). */
  abstract ping(): Promise<void>;
}

/** The embedded default: operations run in this process, started on the next tick. */
@Injectable()
export class InProcessOperationQueue extends OperationQueue {
  private readonly logger = new Logger('OperationQueue');

  constructor(private readonly runner: OperationRunner) {
    super();
  }

  enqueue(operationId: string): Promise<void> {
    setImmediate(() => {
      this.runner.run(operationId).catch((error: unknown) => {
        this.logger.error(`operation ${operationId} could not be run: ${String(error)}`);
      });
    });
    return Promise.resolve();
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * With `REDIS_URL`: operations go through BullMQ, and every replica's workers take from it. The
 * job id is the operation id, so enqueueing twice adds one job.
 */
@Injectable()
export class BullMqOperationQueue extends OperationQueue {
  constructor(@InjectQueue(OPERATIONS_QUEUE) private readonly queue: Queue<OperationJob>) {
    super();
  }

  async enqueue(operationId: string): Promise<void> {
    await this.queue.add(
      'run',
      { operationId },
      { jobId: operationId, removeOnComplete: true, removeOnFail: 1000 },
    );
  }

  async ping(): Promise<void> {
    await this.queue.getJobCounts('waiting');
  }
}

/** The BullMQ worker of this replica: runs each job's operation. */
@Processor(OPERATIONS_QUEUE)
export class OperationsProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly runner: OperationRunner,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.workerConcurrency;
  }

  async process(job: Job<OperationJob>): Promise<void> {
    await this.runner.run(job.data.operationId);
  }
}
