import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One row per service and environment that has any deployment, kept in the transaction of every
 * deployment insert and status change (docs/decisions/023): how many deployments it has (a list's
 * `total` sums these rows), and what runs there (`GET /state`): the newest successful deployment,
 * the newest successful one before it with another version, and the one not yet finished.
 */
@Entity('service_environments')
export class ServiceEnvironment {
  @PrimaryColumn({ type: 'varchar', length: 63 })
  service: string;

  @PrimaryColumn({ type: 'varchar', length: 63 })
  environment: string;

  @Column({ type: 'integer' })
  count: number;

  @Column({ name: 'current_id', type: 'varchar', length: 36, nullable: true })
  currentId: string | null;

  @Column({ name: 'previous_id', type: 'varchar', length: 36, nullable: true })
  previousId: string | null;

  @Column({ name: 'in_flight_id', type: 'varchar', length: 36, nullable: true })
  inFlightId: string | null;
}
