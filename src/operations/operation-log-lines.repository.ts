import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { EntityTable, range } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { OperationLogLine } from './operation-log-line.entity';

/** The `operation_log_lines` table: each operation's output, numbered from 1. */
@Injectable()
export class OperationLogLinesRepository {
  private readonly table: EntityTable<OperationLogLine>;

  constructor(db: Database) {
    this.table = db.table(OperationLogLine);
  }

  /** The number of the operation's newest line; 0 when it has none. */
  @GenerateSql({ params: [Example.id] })
  async lastNumber(operationId: string): Promise<number> {
    const [last] = await this.table.find({
      where: { operationId },
      order: [['n', 'DESC']],
      limit: 1,
    });
    return last?.n ?? 0;
  }

  /** The number of the operation's oldest line kept; null when it has none. */
  @GenerateSql({ params: [Example.id] })
  async firstNumber(operationId: string): Promise<number | null> {
    const [first] = await this.table.find({
      where: { operationId },
      order: [['n', 'ASC']],
      limit: 1,
    });
    return first?.n ?? null;
  }

  /** Up to `limit` lines after line `after`, oldest first. */
  @GenerateSql({ params: [Example.id, 0, 1000] })
  pageAfter(operationId: string, after: number, limit: number): Promise<OperationLogLine[]> {
    return this.table.find({
      where: { operationId, n: range({ above: after }) },
      order: [['n', 'ASC']],
      limit,
    });
  }

  @GenerateSql({
    params: [
      [
        {
          operationId: Example.id,
          n: 1,
          at: Example.time,
          stream: 'stdout',
          text: 'Pulling image',
        },
      ],
    ],
  })
  async insertAll(lines: Array<Omit<OperationLogLine, 'id'>>): Promise<void> {
    for (const line of lines) await this.table.insert(line);
  }

  /** Drops the operation's lines numbered `n` and below. */
  @GenerateSql({ params: [Example.id, 500] })
  async deleteUpTo(operationId: string, n: number): Promise<void> {
    await this.table.delete({ operationId, n: range({ atMost: n }) });
  }
}
