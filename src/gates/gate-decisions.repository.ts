import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { GenerateSql } from '../database/generate-sql';

/** One PostgreSQL advisory lock key for every gate decision ("fdga"). */
const GATE_DECISIONS_KEY = 0x66646761;

/**
 * Orders gate decisions against changes to what the gates read (locks, freezes), across replicas:
 * a decision holds the lock shared for the rest of its transaction, a change exclusively, so a lock
 * taken while a request is being accepted either blocks it or comes after it. PostgreSQL's
 * transaction-scoped advisory lock; on SQLite nothing, as its writes already take turns; outside a
 * transaction (a preflight, which writes nothing) nothing either.
 */
@Injectable()
export class GateDecisionsRepository {
  constructor(private readonly db: Database) {}

  /** Taken by a transaction that decides a request through the gates. */
  @GenerateSql()
  async holdForDecision(): Promise<void> {
    if (this.db.dialect === 'postgres' && this.db.inTransaction())
      await this.db.write('SELECT pg_advisory_xact_lock_shared($1)', [GATE_DECISIONS_KEY]);
  }

  /** Taken by a transaction that changes what gates read (creates or ends a lock or a freeze). */
  @GenerateSql()
  async holdForChange(): Promise<void> {
    if (this.db.dialect === 'postgres')
      await this.db.write('SELECT pg_advisory_xact_lock($1)', [GATE_DECISIONS_KEY]);
  }
}
