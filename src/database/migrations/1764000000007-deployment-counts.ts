import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { textColumn } from '../columns';

/**
 * How many deployments each service has in each environment, so that a list's `total` does not
 * count every row (docs/decisions/023); filled from the deployments already there.
 */
export class DeploymentCounts1764000000007 implements MigrationInterface {
  name = 'DeploymentCounts1764000000007';

  async up(queryRunner: QueryRunner): Promise<void> {
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
        'SELECT service, environment, COUNT(*) FROM deployments GROUP BY service, environment',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('deployment_counts');
  }
}
