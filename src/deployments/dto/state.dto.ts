import { LockResponseDto } from '../../locks/dto/lock-response.dto';
import { ApiProperty, OmitType } from '@nestjs/swagger';
import { DeploymentStatus } from '../deployment.entity';
import { ListDeploymentsQueryDto } from './list-deployments-query.dto';

/** `GET /state`: the deployments list's filters but status; pages by number only (a page of pairs is cheap at any depth). */
export class StateQueryDto extends OmitType(ListDeploymentsQueryDto, [
  'cursor',
  'status',
] as const) {}

/** A deployment that went live: `current` and `previous`. */
export class DeployedVersionDto {
  @ApiProperty({ example: '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d' })
  deployment_id: string;

  @ApiProperty({ example: '1.4.2' })
  version: string;

  @ApiProperty({ example: '2026-11-25T10:32:10.412Z', nullable: true, type: String })
  finished_at: string | null;

  @ApiProperty({
    example: 'github-actions-payments',
    description: 'Name of the API key that asked for it.',
  })
  created_by: string;
}

/** The deployment not yet finished: `in_flight`. */
export class InFlightDeploymentDto {
  @ApiProperty({ example: '0193a6f2-0c1d-7e2f-a3b4-c5d6e7f8a9b0' })
  deployment_id: string;

  @ApiProperty({ example: '1.5.0' })
  version: string;

  @ApiProperty({ enum: DeploymentStatus, example: DeploymentStatus.InProgress })
  status: DeploymentStatus;

  @ApiProperty({ example: '0193a6f2-0c1d-7e2f-a3b4-c5d6e7f8a9b1' })
  operation_id: string;

  @ApiProperty({ example: 40, minimum: 0, maximum: 100, description: "Its operation's progress." })
  progress: number;
}

/** What runs in one service and environment. */
export class StateRowDto {
  @ApiProperty({ example: 'payments' })
  service: string;

  @ApiProperty({ example: 'production' })
  environment: string;

  @ApiProperty({
    type: DeployedVersionDto,
    nullable: true,
    description:
      'The newest `successful` deployment (a rollback that succeeded is one); null when none.',
  })
  current: DeployedVersionDto | null;

  @ApiProperty({
    type: DeployedVersionDto,
    nullable: true,
    description:
      'The newest `successful` deployment before `current` with another version (one rolled back is ' +
      'no longer `successful`); null when none.',
  })
  previous: DeployedVersionDto | null;

  @ApiProperty({
    type: InFlightDeploymentDto,
    nullable: true,
    description: 'The deployment `pending` or `in_progress`; null when none.',
  })
  in_flight: InFlightDeploymentDto | null;

  @ApiProperty({
    type: LockResponseDto,
    nullable: true,
    description:
      "The lock in force covering the pair (the service's own before its environment's), as `GET /locks` lists it, or null.",
  })
  lock: LockResponseDto | null;

  @ApiProperty({ example: false, description: 'Whether a freeze window is in force for the pair.' })
  frozen: boolean;
}

export class StateListResponseDto {
  @ApiProperty({ type: [StateRowDto] })
  state: StateRowDto[];

  @ApiProperty({ example: 1, description: 'Services and environments matching, in all pages.' })
  total: number;

  @ApiProperty({ example: 1 })
  page: number;

  @ApiProperty({ example: 50 })
  per_page: number;
}
