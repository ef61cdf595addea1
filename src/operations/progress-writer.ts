import { OperationStore } from './operation.store';

/** Writes of progress and message for one operation happen at most this often. */
const MIN_INTERVAL_MS = 200;

/**
 * Coalesces a run's progress reports: written at most every 200 ms with the latest values, so a
 * driver reporting in a tight loop costs a few writes, and a run shorter than that none of its
 * own (its last report goes in with its outcome, see {@link takeUnwritten}).
 */
export class ProgressWriter {
  private pending: { progress?: number; message?: string } = {};
  /** The highest progress reported so far: what is stored never goes down, even at the end. */
  private highest = 0;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: OperationStore,
    private readonly operationId: string,
  ) {}

  report(update: { progress?: number; message?: string }): Promise<void> {
    if (update.progress !== undefined && Number.isFinite(update.progress)) {
      const percent = Math.max(0, Math.min(100, Math.round(update.progress)));
      if (percent < this.highest) return Promise.resolve(); // a late, older report: its message too
      if (percent > this.highest) this.pending.progress = this.highest = percent;
    }
    if (update.message !== undefined) this.pending.message = update.message;
    this.timer ??= setTimeout(() => this.flush(), MIN_INTERVAL_MS);
    return Promise.resolve();
  }

  /**
   * For the end of a run: waits for the writes under way and hands over what is not written
   * yet, which the run's final status change then writes in its own transaction.
   */
  async takeUnwritten(): Promise<{ progress?: number; message?: string }> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    const unwritten = this.pending;
    this.pending = {};
    return unwritten;
  }

  /** Writes what is pending, after the writes under way. */
  private flush(): void {
    this.timer = undefined;
    const update = this.pending;
    this.pending = {};
    if (update.progress === undefined && update.message === undefined) return;
    this.writing = this.writing
      .then(() => this.store.report(this.operationId, update))
      .catch(() => undefined);
  }
}
