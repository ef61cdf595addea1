import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type LogStream = 'stdout' | 'stderr' | 'system';

/** One line of an operation's output, numbered from 1 per operation. */
@Entity('operation_log_lines')
export class OperationLogLine {
  @PrimaryGeneratedColumn('increment')
  id: number;

  @Column({ name: 'operation_id', type: 'varchar', length: 36 })
  operationId: string;

  @Column({ type: 'integer' })
  n: number;

  @Column({ type: 'varchar', length: 24 })
  at: string;

  @Column({ type: 'varchar', length: 8 })
  stream: LogStream;

  @Column({ type: 'text' })
  text: string;
}
