import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { idColumn, refColumn, textColumn, timeColumn } from '../columns';

const ACTIVE_ROLLOUT = 'uq_deployments_active_rollout';

/**
 * Approvals: a deployment's `approvals_required`/`approvals_received` and when its wait ends, an
 * operation `held` until its deployment is approved, the `deployment_reviews` table, wider status
 * columns (`awaiting_approval`), and the one-rollout rule counting a deployment that awaits approval.
 */
export class Approvals1764000000012 implements MigrationInterface {
  name = 'Approvals1764000000012';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'postgres') {
      // SQLite does not enforce a varchar's length.
      await queryRunner.query('ALTER TABLE deployments ALTER COLUMN status TYPE varchar(24)');
      await queryRunner.query('ALTER TABLE deployment_events ALTER COLUMN status TYPE varchar(24)');
    }
    await queryRunner.addColumns('deployments', [
      new TableColumn({ name: 'approvals_required', type: 'integer', isNullable: true }),
      new TableColumn({ name: 'approvals_received', type: 'integer', isNullable: true }),
      new TableColumn(timeColumn('approval_expires_at', true)),
    ]);
    await queryRunner.addColumn(
      'operations',
      new TableColumn({ name: 'held', type: 'boolean', default: false }),
    );
    await this.activeRollout(
      queryRunner,
      "status IN ('pending', 'in_progress', 'awaiting_approval')",
    );
    await queryRunner.createIndex(
      'deployments',
      new TableIndex({
        name: 'ix_deployments_status_approval_expires',
        columnNames: ['status', 'approval_expires_at'],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'deployment_reviews',
        columns: [
          idColumn(),
          refColumn('deployment_id'),
          textColumn('decision', 16),
          textColumn('comment', 1000, true),
          refColumn('reviewer_key_id'),
          textColumn('reviewer_name', 100),
          timeColumn('at'),
        ],
        indices: [
          // One review per key, kept by the database itself.
          new TableIndex({
            name: 'uq_deployment_reviews_reviewer',
            columnNames: ['deployment_id', 'reviewer_key_id'],
            isUnique: true,
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('deployment_reviews');
    await queryRunner.dropIndex('deployments', 'ix_deployments_status_approval_expires');
    await this.activeRollout(queryRunner, "status IN ('pending', 'in_progress')");
    await queryRunner.dropColumn('operations', 'held');
    await queryRunner.dropColumns('deployments', [
      'approvals_required',
      'approvals_received',
      'approval_expires_at',
    ]);
  }

  private async activeRollout(queryRunner: QueryRunner, where: string): Promise<void> {
    await queryRunner.dropIndex('deployments', ACTIVE_ROLLOUT);
    await queryRunner.createIndex(
      'deployments',
      new TableIndex({
        name: ACTIVE_ROLLOUT,
        columnNames: ['service', 'environment'],
        isUnique: true,
        where,
      }),
    );
  }
}
