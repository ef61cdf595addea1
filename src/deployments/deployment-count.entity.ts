import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * How many deployments a service has in an environment: kept in the transaction that inserts
 * each one, so a list's `total` is a sum over these few rows (docs/decisions/023).
 */
@Entity('deployment_counts')
export class DeploymentCount {
  @PrimaryColumn({ type: 'varchar', length: 63 })
  service: string;

  @PrimaryColumn({ type: 'varchar', length: 63 })
  environment: string;

  @Column({ type: 'integer' })
  count: number;
}
