import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { DeploymentStatus } from './deployment.entity';

/** A status a deployment went through; written in the same transaction as the status itself. */
@Entity('deployment_events')
export class DeploymentEvent {
  @PrimaryGeneratedColumn('increment')
  id: number;

  @Column({ name: 'deployment_id', type: 'varchar', length: 36 })
  deploymentId: string;

  @Column({ type: 'varchar', length: 24 })
  status: DeploymentStatus;

  @Column({ type: 'text' })
  message: string;

  @Column({ type: 'varchar', length: 24 })
  at: string;
}
