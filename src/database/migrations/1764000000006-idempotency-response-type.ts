import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { textColumn } from '../columns';

/**
 * The `Content-Type` of a kept answer, so a replay sends any answer as it was first sent, not
 * only JSON. Records kept before have none: they were all JSON.
 */
export class IdempotencyResponseType1764000000006 implements MigrationInterface {
  name = 'IdempotencyResponseType1764000000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'idempotency_records',
      new TableColumn(textColumn('response_type', 255, true)),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('idempotency_records', 'response_type');
  }
}
