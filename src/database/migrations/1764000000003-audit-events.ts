import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { idColumn, refColumn, textColumn, timeColumn } from '../columns';

/** The audit log. */
export class AuditEvents1764000000003 implements MigrationInterface {
  name = 'AuditEvents1764000000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          idColumn(),
          timeColumn('at'),
          textColumn('request_id', 128),
          refColumn('actor_key_id', true),
          textColumn('actor_name', 100, true),
          textColumn('action', 160),
          textColumn('target_type', 32, true),
          textColumn('target_id', 64, true),
          textColumn('outcome', 16),
          { name: 'status', type: 'integer' },
          textColumn('error_code', 64, true),
          textColumn('source_ip', 64, true),
        ],
        indices: [
          new TableIndex({ name: 'ix_audit_events_at', columnNames: ['at', 'id'] }),
          new TableIndex({ name: 'ix_audit_events_actor_at', columnNames: ['actor_key_id', 'at'] }),
          new TableIndex({ name: 'ix_audit_events_action_at', columnNames: ['action', 'at'] }),
          new TableIndex({ name: 'ix_audit_events_target', columnNames: ['target_id', 'at'] }),
          new TableIndex({ name: 'ix_audit_events_outcome_at', columnNames: ['outcome', 'at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_events');
  }
}
