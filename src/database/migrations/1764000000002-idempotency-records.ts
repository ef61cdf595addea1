import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { textColumn, timeColumn } from '../columns';

/** Responses kept for `Idempotency-Key` retries. */
export class IdempotencyRecords1764000000002 implements MigrationInterface {
  name = 'IdempotencyRecords1764000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'idempotency_records',
        columns: [
          { name: 'api_key_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'idempotency_key', type: 'varchar', length: '255', isPrimary: true },
          textColumn('fingerprint', 64),
          { name: 'response_status', type: 'integer', isNullable: true },
          textColumn('response_body', undefined, true),
          textColumn('response_location', undefined, true),
          timeColumn('created_at'),
          timeColumn('expires_at'),
        ],
        indices: [
          new TableIndex({ name: 'ix_idempotency_records_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('idempotency_records');
  }
}
