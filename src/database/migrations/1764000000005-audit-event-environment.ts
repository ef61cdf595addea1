import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { textColumn } from '../columns';

/**
 * The environment an audit event is about, so a key scoped to some environments reads only their
 * events. Events recorded before have none: only keys with every environment ("*") see them.
 */
export class AuditEventEnvironment1764000000005 implements MigrationInterface {
  name = 'AuditEventEnvironment1764000000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'audit_events',
      new TableColumn(textColumn('environment', 63, true)),
    );
    // A scoped key's list: its environments' events, newest first.
    await queryRunner.createIndex(
      'audit_events',
      new TableIndex({
        name: 'ix_audit_events_environment_at',
        columnNames: ['environment', 'at'],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('audit_events', 'ix_audit_events_environment_at');
    await queryRunner.dropColumn('audit_events', 'environment');
  }
}
