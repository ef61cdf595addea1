import { Injectable } from '@nestjs/common';
import { OperationHandler } from './operation-handler';

/** Handlers by operation type, filled by the modules that own each type of work. */
@Injectable()
export class OperationHandlerRegistry {
  private readonly handlers = new Map<string, OperationHandler>();

  register(type: string, handler: OperationHandler): void {
    if (this.handlers.has(type)) throw new Error(`A handler for '${type}' is already registered`);
    this.handlers.set(type, handler);
  }

  find(type: string): OperationHandler | undefined {
    return this.handlers.get(type);
  }
}
