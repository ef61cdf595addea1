import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/** The promotion gate looks up one version of a service in an environment. */
export class DeploymentsByVersion1764000000011 implements MigrationInterface {
  name = 'DeploymentsByVersion1764000000011';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'deployments',
      new TableIndex({
        name: 'ix_deployments_service_env_version',
        columnNames: ['service', 'environment', 'version'],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('deployments', 'ix_deployments_service_env_version');
  }
}
