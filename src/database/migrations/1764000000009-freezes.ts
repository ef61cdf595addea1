import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { idColumn, refColumn, textColumn, timeColumn } from '../columns';

/** Freeze windows: one-off or recurring periods in which rollouts are blocked. */
export class Freezes1764000000009 implements MigrationInterface {
  name = 'Freezes1764000000009';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'freezes',
        columns: [
          idColumn(),
          textColumn('name', 100),
          textColumn('environments'),
          textColumn('services', undefined, true),
          timeColumn('starts_at', true),
          timeColumn('ends_at', true),
          textColumn('cron', 100, true),
          { name: 'duration_minutes', type: 'integer', isNullable: true },
          textColumn('timezone', 64, true),
          refColumn('created_by_key_id'),
          textColumn('created_by_name', 100),
          timeColumn('created_at'),
        ],
        // The freezes not over yet: recurring ones (ends_at null) and one-offs ending later.
        indices: [new TableIndex({ name: 'ix_freezes_ends_at', columnNames: ['ends_at'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('freezes');
  }
}
