import { Injectable, Logger } from '@nestjs/common';
import { OperationRunner } from './operation.runner';

/**
 * Where committed pending operations go to be run. The job is only the operation id: the row
 * in the database holds everything else.
 */
export abstract class OperationQueue {
  abstract enqueue(operationId: string): Promise<void>;
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
}
