import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Metrics } from '../observability/metrics';
import { millisecondsBetween } from '../database/columns';
import { OperationFailure } from './operation-handler';
import { OperationHandlerRegistry } from './operation-handler.registry';
import { Operation, OperationStatus } from './operation.entity';
import { OperationStore } from './operation.store';
import { OperationsRepository, RunOutcome } from './operations.repository';
import { OperationLogs } from './operation-logs';
import { OperationLogLine } from './operation-log-line.entity';
import { killOperationProcesses, markedProcesses } from './process-reaper';
import { ProgressWriter } from './progress-writer';

/** Why a run was stopped: asked to, shutting down, or its row was failed by another runner's sweep. */
type StopReason = 'cancel' | 'shutdown' | 'lost';

interface ActiveRun {
  controller: AbortController;
  done: Promise<void>;
}

interface Outcome {
  fields: RunOutcome;
  message: string;
}

const RUNNER_LOST = 'runner_lost';

/** Shown on operations whose runner vanished (crash, kill, lost machine). */
export const RUNNER_LOST_MESSAGE =
  'The Flightdeck process running this operation stopped before it finished (crash or restart); ' +
  'its outcome is unknown. Check the environment, then deploy again.';

/**
 * Runs operations: claims a pending one (only one runner can), calls its handler, keeps a
 * heartbeat while it works, and records the outcome. A sweep fails operations whose runner has
 * stopped sending heartbeats, so none stays `running` after its process is gone.
 */
@Injectable()
export class OperationRunner implements BeforeApplicationShutdown {
  readonly runnerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger('OperationRunner');
  private readonly active = new Map<string, ActiveRun>();
  private sweepTimer?: NodeJS.Timeout;
  private stopping = false;

  constructor(
    private readonly store: OperationStore,
    private readonly operations: OperationsRepository,
    private readonly logs: OperationLogs,
    private readonly handlers: OperationHandlerRegistry,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {}

  /** Runs the operation if it is still pending; does nothing if another runner has it. */
  async run(operationId: string): Promise<void> {
    if (this.stopping || this.active.has(operationId)) return;
    const controller = new AbortController();
    // Registered before the claim is written, so a shutdown meanwhile waits for it too.
    const done = this.claimAndExecute(operationId, controller);
    this.active.set(operationId, { controller, done });
    try {
      await done;
    } finally {
      this.active.delete(operationId);
    }
  }

  /** Stops an operation running in this process at once (others notice on their next heartbeat). */
  stopLocally(operationId: string, reason: StopReason = 'cancel'): void {
    this.active.get(operationId)?.controller.abort(reason);
  }

  /** Stops what a previous incarnation left running, then sweeps: now, then every half lease. */
  startSweeping(resumePending: (id: string) => Promise<void>): void {
    const sweep = () =>
      this.sweep(resumePending).catch((error: unknown) =>
        this.logger.warn(`sweep failed: ${String(error)}`),
      );
    void this.reapAbandoned()
      .catch((error: unknown) =>
        this.logger.warn(`reaping left processes failed: ${String(error)}`),
      )
      .then(() => {
        if (this.stopping) return;
        void sweep();
        this.sweepTimer = setInterval(
          () => void sweep(),
          Math.max(250, this.config.operationLeaseMs / 2),
        );
        this.sweepTimer.unref();
      });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    const runs = [...this.active.values()];
    if (runs.length === 0) return;
    this.logger.log(
      `waiting up to ${this.config.shutdownGraceMs} ms for ${runs.length} running operation(s)`,
    );
    const graceOver = new Promise<void>((resolve) =>
      setTimeout(resolve, this.config.shutdownGraceMs).unref(),
    );
    await Promise.race([Promise.all(runs.map((r) => r.done)), graceOver]);
    for (const run of this.active.values()) run.controller.abort('shutdown' satisfies StopReason);
    await Promise.all(runs.map((r) => r.done));
  }

  private async claimAndExecute(operationId: string, controller: AbortController): Promise<void> {
    const operation = await this.store.claim(operationId, this.runnerId);
    if (operation) await this.execute(operation, controller);
  }

  private async execute(operation: Operation, controller: AbortController): Promise<void> {
    const beat = setInterval(
      () => void this.heartbeat(operation.id, controller),
      this.heartbeatMs(),
    );
    const logs = await this.logs.writer(operation.id);
    const progress = new ProgressWriter(this.store, operation.id);
    let outcome: Outcome;
    let unwritten: { progress?: number; message?: string };
    let lines: OperationLogLine[] = [];
    try {
      const handler = this.handlers.find(operation.type);
      if (!handler)
        throw new OperationFailure(
          'unknown_operation_type',
          `No handler runs '${operation.type}' operations`,
        );
      const result = await handler.execute(operation, {
        signal: controller.signal,
        progress: (percent, message) => progress.report({ progress: percent, message }),
        message: (text) => progress.report({ message: text }),
        log: (stream, text) => logs.write(stream, text),
      });
      outcome = controller.signal.aborted
        ? stoppedOutcome(controller.signal.reason)
        : {
            fields: { status: OperationStatus.Succeeded, progress: 100, result },
            message: 'Succeeded',
          };
    } catch (error) {
      outcome = controller.signal.aborted
        ? stoppedOutcome(controller.signal.reason)
        : failedOutcome(error);
      if (!(error instanceof OperationFailure) && !controller.signal.aborted) {
        this.logger.error(
          `operation ${operation.id} crashed: ${error instanceof Error ? error.stack : String(error)}`,
        );
      }
    } finally {
      clearInterval(beat);
      [lines, unwritten] = await Promise.all([logs.takeUnwritten(), progress.takeUnwritten()]);
    }
    if (controller.signal.reason === 'lost') {
      this.logger.warn(
        `operation ${operation.id} was taken from this runner; its outcome is not recorded`,
      );
      await this.logs.store(operation.id, lines); // its output is kept all the same
      return;
    }
    const finished = await this.store.finish(
      operation.id,
      this.runnerId,
      // The last progress reported goes in with the outcome (success then sets it to 100).
      { progress: unwritten.progress, ...outcome.fields, message: outcome.message },
      // The last lines go in with the outcome too: one transaction to end a run.
      () => this.logs.storeIn(operation.id, lines),
    );
    if (!finished) await this.logs.store(operation.id, lines);
    if (finished?.startedAt && finished.finishedAt) {
      const seconds = millisecondsBetween(finished.startedAt, finished.finishedAt) / 1000;
      this.metrics.operationDuration.observe(
        { type: finished.type, outcome: finished.status },
        seconds,
      );
    }
  }

  private heartbeatMs(): number {
    return Math.min(1000, this.config.operationLeaseMs / 3);
  }

  /** Keeps the lease; stops the work when a cancel was asked for or the operation was taken away. */
  private async heartbeat(id: string, controller: AbortController): Promise<void> {
    try {
      const state = await this.store.heartbeat(id, this.runnerId);
      if (state !== 'running' && !controller.signal.aborted)
        controller.abort(state satisfies StopReason);
    } catch (error) {
      this.logger.warn(`heartbeat for operation ${id} failed: ${String(error)}`);
    }
  }

  private async sweep(resumePending: (id: string) => Promise<void>): Promise<void> {
    const cutoff = new Date(Date.now() - this.config.operationLeaseMs).toISOString();
    const orphans = await this.operations.findAbandoned(cutoff, 100);
    // Nothing this host ran for a lost operation may go on beside the next rollout: its processes
    // are killed before the operation is failed, and it stays running while any is left.
    const local = new Set(orphans.filter((op) => this.ranHere(op)).map((op) => op.id));
    const alive = new Set(local.size > 0 ? await killOperationProcesses(local) : []);
    for (const op of orphans) {
      if (alive.has(op.id)) {
        this.logger.warn(`operation ${op.id}: its processes survived SIGKILL; trying again later`);
        continue;
      }
      const failed = await this.store.failLost(op, {
        code: RUNNER_LOST,
        message: RUNNER_LOST_MESSAGE,
      });
      if (failed) this.logger.warn(`operation ${op.id} failed: its runner ${op.runnerId} stopped`);
    }
    const waiting = await this.operations.findWaiting(cutoff, 100);
    for (const op of waiting) await resumePending(op.id);
  }

  /**
   * Kills the processes on this host of operations that ended `runner_lost`: their runner died
   * and another replica failed them while this host was down. Operations still `running` are left
   * to the sweep (their runner may be another live process on this host).
   */
  private async reapAbandoned(): Promise<void> {
    const marked = await markedProcesses();
    if (marked.size === 0) return;
    const lost = await this.operations.findFailedWith([...marked.keys()], RUNNER_LOST);
    if (lost.length === 0) return;
    this.logger.warn(`killing processes left by ${lost.length} operation(s) whose runner was lost`);
    const left = await killOperationProcesses(new Set(lost));
    if (left.length > 0) this.logger.warn(`processes of ${left.join(', ')} survived SIGKILL`);
  }

  /** Runner ids start with the host name (see `runnerId`). */
  private ranHere(op: Operation): boolean {
    return op.runnerId?.split(':')[0] === hostname();
  }
}

function stoppedOutcome(reason: unknown): Outcome {
  if (reason === 'shutdown') {
    const message =
      'Flightdeck shut down before this operation finished; it was stopped. Deploy again to retry.';
    return {
      fields: { status: OperationStatus.Failed, errorCode: 'shutdown', errorMessage: message },
      message,
    };
  }
  return { fields: { status: OperationStatus.Cancelled }, message: 'Cancelled on request' };
}

function failedOutcome(error: unknown): Outcome {
  const failure =
    error instanceof OperationFailure
      ? error
      : new OperationFailure(
          'internal_error',
          `Unexpected error: ${error instanceof Error ? error.message : String(error)}`,
        );
  return {
    fields: {
      status: OperationStatus.Failed,
      errorCode: failure.code,
      errorMessage: failure.message,
    },
    message: failure.message,
  };
}
