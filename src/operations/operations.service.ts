import { Injectable } from '@nestjs/common';
import type { AuditNote } from '../audit/audit-note';
import { canAccessEnvironment, Principal, visibleEnvironments } from '../auth/principal';
import { ApiError } from '../common/errors/api-error';
import { byCreation, ListPaging } from '../common/pagination';
import { ListOperationsQueryDto } from './dto/list-operations-query.dto';
import { OperationListResponseDto, OperationResponseDto } from './dto/operation-response.dto';
import { FINISHED_OPERATION_STATUSES, Operation } from './operation.entity';
import { NewOperation, OperationStore } from './operation.store';
import { OperationsRepository } from './operations.repository';
import { toOperationLogsResponse, toOperationResponse } from './operation.mapper';
import { OperationHandler } from './operation-handler';
import { OperationHandlerRegistry } from './operation-handler.registry';
import { OperationQueue } from './operations.queue';
import { OperationRunner } from './operation.runner';
import { OperationWatcher, WatchUpdate } from './operation-watcher';
import { OperationLogs } from './operation-logs';
import { OperationLogsQueryDto, OperationLogsResponseDto } from './dto/operation-logs.dto';

const PAGES = new ListPaging<Operation>('operations', byCreation);

/** Operations as the API shows them: reading, listing, cancelling, and dispatching new ones. */
@Injectable()
export class OperationsService {
  constructor(
    private readonly store: OperationStore,
    private readonly operations: OperationsRepository,
    private readonly queue: OperationQueue,
    private readonly runner: OperationRunner,
    private readonly handlers: OperationHandlerRegistry,
    private readonly watcher: OperationWatcher,
    private readonly operationLogs: OperationLogs,
  ) {}

  /** Writes a pending operation in the current transaction; `dispatch` it after the commit. */
  create(spec: NewOperation, id?: string): Promise<Operation> {
    return this.store.create(spec, id);
  }

  /** In the current transaction: lets a held operation start; `dispatch` it after the commit. */
  release(id: string): Promise<boolean> {
    return this.store.release(id);
  }

  /** In the current transaction: cancels an operation that has not started (held or not). */
  cancelNotStarted(id: string, by: string): Promise<Operation | null> {
    return this.store.cancelPendingHere(id, by);
  }

  /** Lets the module that owns a type of work carry it out. */
  registerHandler(type: string, handler: OperationHandler): void {
    this.handlers.register(type, handler);
  }

  /** Throws when the queue (Redis, when used) cannot be reached. */
  pingQueue(): Promise<void> {
    return this.queue.ping();
  }

  /** Hands a committed pending operation to the queue. */
  dispatch(operationId: string): Promise<void> {
    return this.queue.enqueue(operationId);
  }

  /** The operation; with `waitSeconds`, once it has finished or that long has passed (long-poll). */
  async get(
    principal: Principal,
    id: string,
    waitSeconds = 0,
    signal?: AbortSignal,
  ): Promise<OperationResponseDto> {
    const operation = await this.findVisible(principal, id);
    if (waitSeconds === 0 || FINISHED_OPERATION_STATUSES.includes(operation.status)) {
      return toOperationResponse(operation);
    }
    const latest = await this.watcher.waitForEnd(
      id,
      waitSeconds,
      signal ?? new AbortController().signal,
    );
    return toOperationResponse(latest ?? operation);
  }

  /** The progress of each of these operations (0–100), by id; one read for them all. */
  async progressOf(ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const operations = await this.operations.findByIds(ids);
    return new Map(operations.map((o) => [o.id, o.progress]));
  }

  async logs(
    principal: Principal,
    id: string,
    query: OperationLogsQueryDto,
  ): Promise<OperationLogsResponseDto> {
    const operation = await this.findVisible(principal, id);
    const page = await this.operationLogs.page(id, query.after, query.limit);
    return toOperationLogsResponse(page, operation);
  }

  /** Updates of a visible operation until it ends (404 first if it is not visible). */
  async follow(
    principal: Principal,
    id: string,
    afterLine: number,
    signal: AbortSignal,
  ): Promise<AsyncGenerator<WatchUpdate>> {
    await this.findVisible(principal, id);
    return this.watcher.watch(id, { afterLine, signal });
  }

  async list(
    principal: Principal,
    query: ListOperationsQueryDto,
  ): Promise<OperationListResponseDto> {
    const environments = visibleEnvironments(principal);
    const filter = { status: query.status, type: query.type, scope: environments };
    const { rows, total } = await this.operations.pageNewestFirst(filter, PAGES.window(query));
    const { rows: shown, page } = PAGES.page(rows, query, total);
    return { operations: shown.map(toOperationResponse), ...page };
  }

  /**
   * A pending operation is cancelled at once; a running one is asked to stop and ends
   * `cancelled` shortly after; a finished one cannot be cancelled.
   */
  async cancel(principal: Principal, id: string, audit: AuditNote): Promise<OperationResponseDto> {
    const operation = await this.findVisible(principal, id);
    audit.environment = operation.scope; // the environment of the deployment it rolls out
    if (FINISHED_OPERATION_STATUSES.includes(operation.status)) {
      throw ApiError.conflict(
        `Operation ${id} has already ${operation.status}; there is nothing to cancel`,
        {
          status: operation.status,
        },
      );
    }
    const by = `Cancelled by ${principal.name}`;
    const cancelled = await this.store.cancelPending(id, by);
    if (cancelled) return toOperationResponse(cancelled);
    await this.store.requestCancel(id);
    this.runner.stopLocally(id);
    return toOperationResponse(await this.findVisible(principal, id));
  }

  private async findVisible(principal: Principal, id: string): Promise<Operation> {
    const operation = await this.operations.findById(id);
    if (!operation || !canAccessEnvironment(principal, operation.scope))
      throw ApiError.notFound('Operation', id);
    return operation;
  }
}
