import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { idColumn, refColumn, textColumn, timeColumn } from '../columns';

/** The permissions of v1, and those v1.1 adds (the contract's names, fixed here as they were). */
const V1_PERMISSIONS = [
  'deployments:read',
  'deployments:create',
  'deployments:rollback',
  'operations:read',
  'operations:cancel',
  'keys:manage',
  'audit:read',
];
const V1_1_PERMISSIONS = [
  'locks:manage',
  'freezes:manage',
  'deployments:approve',
  'deployments:override',
  'webhooks:manage',
];

/**
 * Guardrails: the `locks` table, a deployment's `override_reason`, an audit event's `details`
 * (what an override passed, why a lock expired), and the v1.1 permissions for every key that held
 * all of v1's (the admin key, and keys made "with every permission").
 */
export class LocksAndOverrides1764000000008 implements MigrationInterface {
  name = 'LocksAndOverrides1764000000008';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'locks',
        columns: [
          idColumn(),
          textColumn('environment', 63),
          textColumn('service', 63, true),
          textColumn('reason', 500),
          refColumn('created_by_key_id'),
          textColumn('created_by_name', 100),
          timeColumn('created_at'),
          timeColumn('expires_at', true),
          timeColumn('ended_at', true),
          textColumn('end_reason', 16, true),
          refColumn('ended_by_key_id', true),
        ],
        indices: [
          // One active lock per service and environment, and one environment-wide lock per
          // environment, kept by the database itself (NULLs never collide in a unique index).
          new TableIndex({
            name: 'uq_locks_active_service',
            columnNames: ['environment', 'service'],
            isUnique: true,
            where: 'ended_at IS NULL',
          }),
          new TableIndex({
            name: 'uq_locks_active_environment',
            columnNames: ['environment'],
            isUnique: true,
            where: 'ended_at IS NULL AND service IS NULL',
          }),
        ],
      }),
    );
    await queryRunner.addColumn(
      'deployments',
      new TableColumn(textColumn('override_reason', 500, true)),
    );
    await queryRunner.addColumn(
      'audit_events',
      new TableColumn(textColumn('details', undefined, true)),
    );
    await grantV11Permissions(queryRunner);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('audit_events', 'details');
    await queryRunner.dropColumn('deployments', 'override_reason');
    await queryRunner.dropTable('locks');
  }
}

/**
 * Gives every key holding all of v1's permissions the ones v1.1 adds: those keys were made to do
 * everything, and "everything" grew. Exported for its test.
 */
export async function grantV11Permissions(queryRunner: QueryRunner): Promise<void> {
  const rows = (await queryRunner.query('SELECT id, permissions FROM api_keys')) as Array<{
    id: string;
    permissions: string;
  }>;
  for (const row of rows) {
    const held = JSON.parse(row.permissions) as string[];
    if (!V1_PERMISSIONS.every((p) => held.includes(p))) continue;
    const added = V1_1_PERMISSIONS.filter((p) => !held.includes(p));
    if (added.length === 0) continue;
    const [sql, values] = queryRunner.dataSource.driver.escapeQueryWithParameters(
      'UPDATE api_keys SET permissions = :permissions WHERE id = :id',
      { permissions: JSON.stringify([...held, ...added]), id: row.id },
    );
    await queryRunner.query(sql, values);
  }
}
