import { Metrics } from '../observability/metrics';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { setTimeout as delay } from 'node:timers/promises';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { Database } from '../database/database';
import { DatabaseModule } from '../database/database.module';
import {
  OperationContext,
  OperationFailure,
  OperationHandler,
  StatusChange,
} from './operation-handler';
import { OperationHandlerRegistry } from './operation-handler.registry';
import { Operation, OperationResult, OperationStatus } from './operation.entity';
import { OperationLogLine } from './operation-log-line.entity';
import { OperationLogLinesRepository } from './operation-log-lines.repository';
import { OperationLogs } from './operation-logs';
import { OperationRunner, RUNNER_LOST_MESSAGE } from './operation.runner';
import { OperationStore } from './operation.store';
import { OperationsRepository } from './operations.repository';

const LEASE_MS = 600;
const GRACE_MS = 200;

interface SeenChange extends StatusChange {
  /** The operation row as the hook read it, inside the transaction that recorded the change. */
  errorCode: string | null;
  errorMessage: string | null;
}

/**
 * A real handler: `work` does the job, and every status change the engine reports is kept (with
 * the row it was given) so a test can read what the owning module would have seen.
 */
class RecordingHandler implements OperationHandler {
  readonly changes: SeenChange[] = [];
  executions = 0;
  private markStarted!: () => void;
  /** Resolves once `execute` has been entered. */
  readonly started = new Promise<void>((resolve) => (this.markStarted = resolve));

  constructor(
    private readonly work: (
      operation: Operation,
      context: OperationContext,
    ) => Promise<OperationResult>,
  ) {}

  async execute(operation: Operation, context: OperationContext): Promise<OperationResult> {
    this.executions += 1;
    this.markStarted();
    return this.work(operation, context);
  }

  onStatusChange(operation: Operation, change: StatusChange): Promise<void> {
    this.changes.push({
      ...change,
      errorCode: operation.errorCode,
      errorMessage: operation.errorMessage,
    });
    return Promise.resolve();
  }

  get statuses(): OperationStatus[] {
    return this.changes.map((c) => c.status);
  }
}

/** Polls until `check` holds; throws when it does not within `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return;
    await delay(10);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

const isoAgo = (ms: number) => new Date(Date.now() - ms).toISOString();

/** Progress is written at most every 200 ms; this waits out one such write. */
const waitForProgressWrite = () => delay(400);

describe('OperationRunner', () => {
  let app: INestApplication | undefined;
  let runner: OperationRunner;
  let store: OperationStore;
  let registry: OperationHandlerRegistry;
  let db: Database;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(
          AppConfig.fromEnvironment({
            DATABASE_URL: 'sqlite::memory:',
            FLIGHTDECK_OPERATION_LEASE_MS: String(LEASE_MS),
            FLIGHTDECK_SHUTDOWN_GRACE_MS: String(GRACE_MS),
          }),
        ),
        DatabaseModule,
        DatabaseModule.forFeature([Operation, OperationLogLine]),
      ],
      providers: [
        OperationsRepository,
        OperationLogLinesRepository,
        OperationHandlerRegistry,
        OperationStore,
        OperationLogs,
        OperationRunner,
        Metrics,
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    runner = app.get(OperationRunner);
    store = app.get(OperationStore);
    registry = app.get(OperationHandlerRegistry);
    db = app.get(Database);
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** Registers `work` as the handler of a fresh operation type and writes a pending operation. */
  async function pendingOperation(
    work: (operation: Operation, context: OperationContext) => Promise<OperationResult>,
    type = `test.work.${Math.random().toString(36).slice(2, 10)}`,
  ): Promise<{ operation: Operation; handler: RecordingHandler }> {
    const handler = new RecordingHandler(work);
    registry.register(type, handler);
    const operation = await db.transaction(() =>
      store.create({
        type,
        target: { type: 'deployment', id: '01900000-0000-7000-8000-00000000d001' },
        scope: 'staging',
        message: 'Queued',
      }),
    );
    return { operation, handler };
  }

  const row = async (id: string): Promise<Operation> =>
    (await app!.get(OperationsRepository).findById(id))!;

  /** Writes columns of an operation's row directly, as another replica (or a crash) leaves them. */
  const setColumns = (id: string, columns: Partial<Operation>) =>
    db.transaction(() => db.table(Operation).update({ id }, columns));

  it('should take a pending operation to succeeded with progress 100 and its result stored', async () => {
    const { operation, handler } = await pendingOperation(async (_, context) => {
      await context.progress(40, 'Halfway there');
      await delay(20, undefined, { signal: context.signal });
      return { version: '1.4.2', replicas: 3 };
    });

    await runner.run(operation.id);

    const after = await row(operation.id);
    expect(after).toMatchObject({
      status: OperationStatus.Succeeded,
      progress: 100,
      result: { version: '1.4.2', replicas: 3 },
      errorCode: null,
      errorMessage: null,
      runnerId: runner.runnerId,
    });
    expect(after.startedAt).not.toBeNull();
    expect(after.finishedAt).not.toBeNull();
    expect(after.startedAt! <= after.finishedAt!).toBe(true);
    expect(handler.statuses).toEqual([OperationStatus.Running, OperationStatus.Succeeded]);
    expect(handler.changes.map((c) => c.message)).toEqual(['Started', 'Succeeded']);
  });

  it('should never lower the progress stored when progress is reported out of order', async () => {
    const seen: Array<{ progress: number; message: string | null }> = [];
    const { operation } = await pendingOperation(async (op, context) => {
      await context.progress(50, 'Half of the replicas updated');
      await waitForProgressWrite();
      seen.push(await row(op.id));
      await context.progress(30, 'A late, older report');
      await waitForProgressWrite();
      seen.push(await row(op.id));
      return {};
    });

    await runner.run(operation.id);

    expect(seen.map((r) => [r.progress, r.message])).toEqual([
      [50, 'Half of the replicas updated'],
      [50, 'Half of the replicas updated'],
    ]);
  });

  it('should round and bound the progress it stores, and keep NUL out of log lines, so the outcome is always recorded', async () => {
    const { operation } = await pendingOperation(async (_op, context) => {
      await context.progress(33.3, 'A third');
      context.log('stdout', 'bytes\u0000 that PostgreSQL refuses in text');
      await context.progress(250, 'More than everything');
      throw new OperationFailure('driver_failed', 'gave up');
    });

    await runner.run(operation.id);

    expect(await row(operation.id)).toMatchObject({
      status: OperationStatus.Failed,
      progress: 100,
      errorCode: 'driver_failed',
    });
    const lines = await app!.get(OperationLogLinesRepository).pageAfter(operation.id, 0, 100);
    expect(lines.map((l) => l.text)).toEqual(['bytes that PostgreSQL refuses in text']);
  });

  it('should store the last progress of a run too short for a write of its own with its outcome', async () => {
    const { operation } = await pendingOperation(async (_op, context) => {
      await context.progress(40, 'Two of five replicas updated');
      throw new OperationFailure('driver_failed', 'replica 3 did not start');
    });

    await runner.run(operation.id);

    expect(await row(operation.id)).toMatchObject({
      status: OperationStatus.Failed,
      progress: 40,
      errorCode: 'driver_failed',
    });
  });

  it('should record an OperationFailure as failed with its code and message', async () => {
    const { operation, handler } = await pendingOperation(() =>
      Promise.reject(new OperationFailure('driver_failed', 'boom')),
    );

    await runner.run(operation.id);

    const after = await row(operation.id);
    expect(after).toMatchObject({
      status: OperationStatus.Failed,
      errorCode: 'driver_failed',
      errorMessage: 'boom',
      result: null,
    });
    expect(after.finishedAt).not.toBeNull();
    expect(handler.changes[1]).toMatchObject({
      status: OperationStatus.Failed,
      message: 'boom',
      errorCode: 'driver_failed',
    });
  });

  it('should record any other thrown error as failed with code internal_error', async () => {
    const { operation } = await pendingOperation(() => Promise.reject(new Error('kaput')));

    await runner.run(operation.id);

    const after = await row(operation.id);
    expect(after.status).toBe(OperationStatus.Failed);
    expect(after.errorCode).toBe('internal_error');
    expect(after.errorMessage).toContain('kaput');
  });

  it('should fail an operation whose type has no handler with unknown_operation_type', async () => {
    const operation = await db.transaction(() =>
      store.create({
        type: 'nobody.handles.this',
        target: { type: 'deployment', id: 'd-1' },
        scope: 'staging',
        message: 'Queued',
      }),
    );

    await runner.run(operation.id);

    const after = await row(operation.id);
    expect(after.status).toBe(OperationStatus.Failed);
    expect(after.errorCode).toBe('unknown_operation_type');
  });

  it('should execute the handler exactly once when the same operation is run twice at once', async () => {
    const { operation, handler } = await pendingOperation(async (_, context) => {
      await delay(30, undefined, { signal: context.signal });
      return { ran: true };
    });

    await Promise.all([runner.run(operation.id), runner.run(operation.id)]);

    expect(handler.executions).toBe(1);
    expect(handler.statuses).toEqual([OperationStatus.Running, OperationStatus.Succeeded]);
    expect((await row(operation.id)).status).toBe(OperationStatus.Succeeded);
  });

  it('should not run an operation that is no longer pending', async () => {
    const { operation, handler } = await pendingOperation(() => Promise.resolve({}));
    await runner.run(operation.id);

    await runner.run(operation.id);

    expect(handler.executions).toBe(1);
    expect((await row(operation.id)).status).toBe(OperationStatus.Succeeded);
  });

  it('should end an operation cancelled when stopLocally is called while it runs', async () => {
    let signalAborted = false;
    const { operation, handler } = await pendingOperation(async (_, context) => {
      try {
        await delay(10_000, undefined, { signal: context.signal });
      } finally {
        signalAborted = context.signal.aborted;
      }
      return { finished: true };
    });

    const running = runner.run(operation.id);
    await handler.started;
    runner.stopLocally(operation.id);
    await running;

    const after = await row(operation.id);
    expect(after.status).toBe(OperationStatus.Cancelled);
    expect(after.finishedAt).not.toBeNull();
    expect(after.result).toBeNull();
    expect(signalAborted).toBe(true);
    expect(handler.statuses).toEqual([OperationStatus.Running, OperationStatus.Cancelled]);
  });

  it('should notice a cancel requested in the database on its heartbeat and end cancelled', async () => {
    const { operation, handler } = await pendingOperation(async (_, context) => {
      await delay(10_000, undefined, { signal: context.signal });
      return { finished: true };
    });

    const running = runner.run(operation.id);
    await handler.started;
    const requestedAt = Date.now();
    await store.requestCancel(operation.id);
    await running;

    const after = await row(operation.id);
    expect(after.status).toBe(OperationStatus.Cancelled);
    expect(after.cancelRequested).toBe(true);
    // A heartbeat comes every third of the lease: the request is seen well within one lease.
    expect(Date.now() - requestedAt).toBeLessThan(LEASE_MS);
    expect(handler.statuses).toEqual([OperationStatus.Running, OperationStatus.Cancelled]);
  });

  it('should keep the heartbeat of a running operation fresh', async () => {
    const { operation, handler } = await pendingOperation(async (_, context) => {
      await delay(10_000, undefined, { signal: context.signal });
      return {};
    });

    const running = runner.run(operation.id);
    await handler.started;
    const firstBeat = (await row(operation.id)).heartbeatAt!;
    await eventually(async () => (await row(operation.id)).heartbeatAt! > firstBeat, LEASE_MS);
    runner.stopLocally(operation.id);
    await running;
  });

  it('should stop the handler once its operation is no longer running under this runner', async () => {
    let stopReason: unknown;
    const { operation, handler } = await pendingOperation(async (_, context) => {
      try {
        await delay(10_000, undefined, { signal: context.signal });
      } finally {
        stopReason = context.signal.aborted ? context.signal.reason : undefined;
      }
      return { finished: true };
    });

    const running = runner.run(operation.id);
    await handler.started;
    // What another replica's sweep writes when it decides this runner is gone.
    const failedAt = new Date().toISOString();
    await setColumns(operation.id, {
      status: OperationStatus.Failed,
      finishedAt: failedAt,
      errorCode: 'runner_lost',
      errorMessage: RUNNER_LOST_MESSAGE,
      updatedAt: failedAt,
    });
    const takenAt = Date.now();
    await running;

    // A heartbeat comes every third of the lease: the loss is seen well within one lease.
    expect(Date.now() - takenAt).toBeLessThan(LEASE_MS);
    expect(stopReason).toBe('lost');
    const after = await row(operation.id);
    expect(after).toMatchObject({
      status: OperationStatus.Failed,
      errorCode: 'runner_lost',
      errorMessage: RUNNER_LOST_MESSAGE,
      finishedAt: failedAt,
      updatedAt: failedAt,
      result: null,
    });
    expect(handler.statuses).toEqual([OperationStatus.Running]);
  });

  describe('sweep', () => {
    it('should fail a running operation whose heartbeat is older than the lease with runner_lost', async () => {
      const { operation: orphan, handler } = await pendingOperation(() => Promise.resolve({}));
      const { operation: alive } = await pendingOperation(() => Promise.resolve({}));
      const staleBeat = isoAgo(LEASE_MS * 5);
      await setColumns(orphan.id, {
        status: OperationStatus.Running,
        runnerId: 'crashed-host:1234:deadbeef',
        startedAt: staleBeat,
        heartbeatAt: staleBeat,
      });
      await setColumns(alive.id, {
        status: OperationStatus.Running,
        runnerId: 'other-replica:99:cafebabe',
        startedAt: new Date().toISOString(),
        heartbeatAt: new Date().toISOString(),
      });

      runner.startSweeping(() => Promise.resolve());
      await eventually(async () => (await row(orphan.id)).status !== OperationStatus.Running);

      const failed = await row(orphan.id);
      expect(failed).toMatchObject({
        status: OperationStatus.Failed,
        errorCode: 'runner_lost',
        errorMessage: RUNNER_LOST_MESSAGE,
      });
      expect(failed.finishedAt).not.toBeNull();
      expect(handler.changes).toEqual([
        expect.objectContaining({
          status: OperationStatus.Failed,
          message: RUNNER_LOST_MESSAGE,
          errorCode: 'runner_lost',
        }),
      ]);
      expect((await row(alive.id)).status).toBe(OperationStatus.Running);
    });

    it('should hand a pending operation older than the lease back to the callback, and not a fresh one', async () => {
      const { operation: stuck, handler } = await pendingOperation(() =>
        Promise.resolve({ resumed: true }),
      );
      const { operation: fresh } = await pendingOperation(() => Promise.resolve({}));
      await setColumns(stuck.id, { createdAt: isoAgo(LEASE_MS * 5) });
      const resumed: string[] = [];

      runner.startSweeping(async (id) => {
        resumed.push(id);
        await runner.run(id);
      });
      await eventually(async () => (await row(stuck.id)).status === OperationStatus.Succeeded);

      expect(resumed).toEqual([stuck.id]);
      expect(handler.executions).toBe(1);
      expect((await row(stuck.id)).result).toEqual({ resumed: true });
      expect((await row(fresh.id)).status).toBe(OperationStatus.Pending);
    });
  });

  describe('beforeApplicationShutdown', () => {
    it('should stop an operation whose claim was still being written when shutdown began', async () => {
      let stopReason: unknown;
      const { operation, handler } = await pendingOperation(async (_, context) => {
        try {
          await delay(10_000, undefined, { signal: context.signal });
        } finally {
          stopReason = context.signal.aborted ? context.signal.reason : undefined;
        }
        return { done: true };
      });

      // Not awaited: the pending→running claim is still being written when the app closes.
      const running = runner.run(operation.id);
      const closing = Date.now();
      await app!.close();
      app = undefined;
      const closedAfter = Date.now() - closing;
      await running;

      expect(closedAfter).toBeGreaterThanOrEqual(GRACE_MS - 10);
      expect(handler.executions).toBe(1);
      expect(stopReason).toBe('shutdown');
      // The in-memory database closes with the app, so the row is read through the hook.
      expect(handler.statuses).toEqual([OperationStatus.Running, OperationStatus.Failed]);
      expect(handler.changes[1]).toMatchObject({
        status: OperationStatus.Failed,
        errorCode: 'shutdown',
      });
      expect(handler.changes[1].errorMessage).toMatch(/shut down/);
    });

    it('should let an operation that finishes within the grace period succeed', async () => {
      const { operation, handler } = await pendingOperation(async (_, context) => {
        await delay(GRACE_MS / 4, undefined, { signal: context.signal });
        return { done: true };
      });

      const running = runner.run(operation.id);
      await handler.started;
      await app!.close();
      app = undefined;
      await running;

      expect(handler.changes.at(-1)).toMatchObject({
        status: OperationStatus.Succeeded,
        errorCode: null,
      });
    });

    it("should stop an operation still running after the grace period and record it failed with code 'shutdown'", async () => {
      const { operation, handler } = await pendingOperation(async (_, context) => {
        await delay(10_000, undefined, { signal: context.signal });
        return { done: true };
      });

      const running = runner.run(operation.id);
      await handler.started;
      const closing = Date.now();
      await app!.close();
      app = undefined;
      await running;

      expect(Date.now() - closing).toBeGreaterThanOrEqual(GRACE_MS - 10);
      // The in-memory database closes with the app, so the row is read through the hook, which
      // received it inside the transaction that recorded the outcome.
      expect(handler.statuses).toEqual([OperationStatus.Running, OperationStatus.Failed]);
      expect(handler.changes[1]).toMatchObject({
        status: OperationStatus.Failed,
        errorCode: 'shutdown',
      });
      expect(handler.changes[1].errorMessage).toMatch(/shut down/);
    });
  });
});
