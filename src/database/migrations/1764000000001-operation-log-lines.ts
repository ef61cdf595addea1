import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { refColumn, textColumn, timeColumn } from '../columns';

/** Output lines kept with each operation. */
export class OperationLogLines1764000000001 implements MigrationInterface {
  name = 'OperationLogLines1764000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'operation_log_lines',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          refColumn('operation_id'),
          { name: 'n', type: 'integer' },
          timeColumn('at'),
          textColumn('stream', 8),
          textColumn('text'),
        ],
        indices: [
          new TableIndex({
            name: 'uq_operation_log_lines_n',
            columnNames: ['operation_id', 'n'],
            isUnique: true,
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('operation_log_lines');
  }
}
