import type { Database } from '../../src/database/database';

/**
 * A transaction that runs `write`, then stays open until `end` is called: to see what others read
 * meanwhile. `end('rollback')` makes it throw, so nothing it wrote is kept; `end` resolves with
 * what the transaction settled with (its error, when it was rolled back).
 */
export function openTransaction(
  db: Database,
  write: () => Promise<unknown>,
): { written: Promise<void>; end: (outcome: 'commit' | 'rollback') => Promise<unknown> } {
  let markWritten!: () => void;
  const written = new Promise<void>((resolve) => (markWritten = resolve));
  let finish!: (outcome: 'commit' | 'rollback') => void;
  const ended = new Promise<'commit' | 'rollback'>((resolve) => (finish = resolve));
  const done = db
    .transaction(async () => {
      await write();
      markWritten();
      if ((await ended) === 'rollback') throw new Error('rolled back on purpose');
    })
    .catch((error: unknown) => error);
  return {
    written,
    end: (outcome) => {
      finish(outcome);
      return done;
    },
  };
}
