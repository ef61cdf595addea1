import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { refColumn, textColumn } from '../columns';

/**
 * What each service and environment's row says, computed from its deployments: how many there
 * are, the newest successful one (creation order, as a rollback picks it), the newest successful
 * one before it with another version, and the one pending or in progress. The SQL of this
 * migration's day; the code keeps the rows since (`DeploymentsRepository`).
 */
const FILL = `
INSERT INTO service_environments (service, environment, count)
  SELECT service, environment, COUNT(*) FROM deployments GROUP BY service, environment`;
/** Columns of the newest successful deployment of the row being updated. */
const newest = (columns: string) => `
    SELECT ${columns} FROM deployments d
     WHERE d.service = service_environments.service AND d.environment = service_environments.environment
       AND d.status = 'successful'
     ORDER BY d.created_at DESC, d.id DESC LIMIT 1`;
const STATE = `
UPDATE service_environments SET
  current_id = (${newest('d.id')}),
  previous_id = (
    SELECT p.id FROM deployments p
     WHERE p.service = service_environments.service AND p.environment = service_environments.environment
       AND p.status = 'successful'
       AND (p.created_at, p.id) < (${newest('d.created_at, d.id')})
       AND p.version <> (${newest('d.version')})
     ORDER BY p.created_at DESC, p.id DESC LIMIT 1),
  in_flight_id = (
    SELECT d.id FROM deployments d
     WHERE d.service = service_environments.service AND d.environment = service_environments.environment
       AND d.status IN ('pending', 'in_progress')
     ORDER BY d.created_at DESC, d.id DESC LIMIT 1)`;

/**
 * `deployment_counts` becomes `service_environments`: the same row per service and environment,
 * which now also says what runs there (`GET /state`, docs/decisions/023). Built under its new name
 * from the deployments already there, then the old table goes.
 */
export class ServiceEnvironments1764000000010 implements MigrationInterface {
  name = 'ServiceEnvironments1764000000010';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'service_environments',
        columns: [
          { ...textColumn('service', 63), isPrimary: true },
          { ...textColumn('environment', 63), isPrimary: true },
          { name: 'count', type: 'integer' },
          refColumn('current_id', true),
          refColumn('previous_id', true),
          refColumn('in_flight_id', true),
        ],
      }),
    );
    await queryRunner.query(FILL);
    await queryRunner.query(STATE);
    await queryRunner.dropTable('deployment_counts');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'deployment_counts',
        columns: [
          { ...textColumn('service', 63), isPrimary: true },
          { ...textColumn('environment', 63), isPrimary: true },
          { name: 'count', type: 'integer' },
        ],
      }),
    );
    await queryRunner.query(
      'INSERT INTO deployment_counts (service, environment, count) ' +
        'SELECT service, environment, count FROM service_environments',
    );
    await queryRunner.dropTable('service_environments');
  }
}

/** What the migration fills the rows with, for tools that seed deployments straight into tables (the bench). */
export const FILL_SERVICE_ENVIRONMENTS = [FILL, STATE];
