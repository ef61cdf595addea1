import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { idColumn, refColumn, textColumn, timeColumn } from '../columns';

/** Keys, operations, deployments and their status history; written once for both databases. */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          idColumn(),
          textColumn('name', 100),
          textColumn('prefix', 16),
          textColumn('secret_hash', 64),
          textColumn('permissions'),
          textColumn('environments'),
          refColumn('created_by_key_id', true),
          timeColumn('created_at'),
          timeColumn('expires_at', true),
          timeColumn('revoked_at', true),
          timeColumn('last_used_at', true),
        ],
        indices: [
          new TableIndex({
            name: 'uq_api_keys_secret_hash',
            columnNames: ['secret_hash'],
            isUnique: true,
          }),
          new TableIndex({ name: 'ix_api_keys_created_at', columnNames: ['created_at'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'operations',
        columns: [
          idColumn(),
          textColumn('type', 64),
          textColumn('status', 16),
          { name: 'progress', type: 'integer', default: 0 },
          textColumn('target_type', 64),
          refColumn('target_id'),
          textColumn('scope', 64),
          textColumn('message', undefined, true),
          textColumn('error_code', 64, true),
          textColumn('error_message', undefined, true),
          textColumn('result', undefined, true),
          { name: 'cancel_requested', type: 'boolean', default: false },
          textColumn('runner_id', 64, true),
          timeColumn('heartbeat_at', true),
          timeColumn('created_at'),
          timeColumn('started_at', true),
          timeColumn('updated_at'),
          timeColumn('finished_at', true),
        ],
        indices: [
          new TableIndex({ name: 'ix_operations_created', columnNames: ['created_at', 'id'] }),
          new TableIndex({
            name: 'ix_operations_status_created',
            columnNames: ['status', 'created_at'],
          }),
          new TableIndex({
            name: 'ix_operations_type_created',
            columnNames: ['type', 'created_at'],
          }),
          new TableIndex({
            name: 'ix_operations_scope_created',
            columnNames: ['scope', 'created_at'],
          }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'deployments',
        columns: [
          idColumn(),
          textColumn('service', 63),
          textColumn('version', 128),
          textColumn('environment', 63),
          textColumn('status', 16),
          textColumn('description', undefined, true),
          textColumn('created_by', 100),
          refColumn('created_by_key_id'),
          timeColumn('created_at'),
          timeColumn('started_at', true),
          timeColumn('finished_at', true),
          refColumn('operation_id'),
          refColumn('rollback_of', true),
        ],
        indices: [
          new TableIndex({ name: 'ix_deployments_created', columnNames: ['created_at', 'id'] }),
          new TableIndex({
            name: 'ix_deployments_service_env_created',
            columnNames: ['service', 'environment', 'created_at', 'id'],
          }),
          new TableIndex({
            name: 'ix_deployments_env_created',
            columnNames: ['environment', 'created_at', 'id'],
          }),
          new TableIndex({
            name: 'ix_deployments_status_created',
            columnNames: ['status', 'created_at', 'id'],
          }),
          // The one-rollout-per-service-and-environment rule, kept by the database itself.
          new TableIndex({
            name: 'uq_deployments_active_rollout',
            columnNames: ['service', 'environment'],
            isUnique: true,
            where: "status IN ('pending', 'in_progress')",
          }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'deployment_events',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          refColumn('deployment_id'),
          textColumn('status', 16),
          textColumn('message'),
          timeColumn('at'),
        ],
        indices: [
          new TableIndex({
            name: 'ix_deployment_events_deployment',
            columnNames: ['deployment_id', 'id'],
          }),
        ],
        foreignKeys: [
          {
            columnNames: ['deployment_id'],
            referencedTableName: 'deployments',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('deployment_events');
    await queryRunner.dropTable('deployments');
    await queryRunner.dropTable('operations');
    await queryRunner.dropTable('api_keys');
  }
}
