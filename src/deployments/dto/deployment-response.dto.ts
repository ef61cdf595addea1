import { ApiProperty } from '@nestjs/swagger';
import { OperationResponseDto } from '../../operations/dto/operation-response.dto';
import { DeploymentStatus } from '../deployment.entity';
import { PageDto } from '../../common/pagination';

const ID = '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d';
const OP_ID = '0193a6f1-8a2b-7d10-b1c2-5e6f7a8b9c0d';
/** `status_url`: where to poll the operation; also sent as `Location`. */
const STATUS_URL = {
  example: `/api/v1/operations/${OP_ID}`,
  description:
    'Where to poll the operation (also the `Location` header): a root-relative path, to resolve against the ' +
    'URL the request was sent to, or an absolute URL when the server has `FLIGHTDECK_PUBLIC_URL` set or sits ' +
    'behind a trusted proxy.',
};

export class ApprovalsDto {
  @ApiProperty({ example: 2, description: 'Approvals needed before the rollout starts.' })
  required: number;

  @ApiProperty({ example: 1, description: 'Approvals recorded so far.' })
  received: number;
}

export class DeploymentResponseDto {
  @ApiProperty({ example: ID })
  id: string;

  @ApiProperty({ example: 'payments' })
  service: string;

  @ApiProperty({ example: '1.4.2' })
  version: string;

  @ApiProperty({ example: 'production' })
  environment: string;

  @ApiProperty({ enum: DeploymentStatus, example: DeploymentStatus.Pending })
  status: DeploymentStatus;

  @ApiProperty({ example: 'Release 1.4.2', nullable: true, type: String })
  description: string | null;

  @ApiProperty({
    example: 'github-actions-payments',
    description: 'Name of the API key that asked for it.',
  })
  created_by: string;

  @ApiProperty({ example: '2026-11-25T10:30:00.000Z' })
  created_at: string;

  @ApiProperty({ example: null, nullable: true, type: String })
  started_at: string | null;

  @ApiProperty({ example: null, nullable: true, type: String })
  finished_at: string | null;

  @ApiProperty({
    example: null,
    nullable: true,
    type: Number,
    description: 'From start to finish.',
  })
  duration_seconds: number | null;

  @ApiProperty({ example: OP_ID })
  operation_id: string;

  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'The deployment this one rolls back.',
  })
  rollback_of: string | null;

  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'Why it was asked with `override`, passing the lock, freeze and promotion gates.',
  })
  override_reason: string | null;

  @ApiProperty({
    type: ApprovalsDto,
    nullable: true,
    description:
      'Reviews its environment asks for before the rollout starts (`awaiting_approval` until then); ' +
      'null when it asks for none.',
  })
  approvals: ApprovalsDto | null;
}

export class DeploymentListResponseDto extends PageDto {
  @ApiProperty({ type: [DeploymentResponseDto] })
  deployments: DeploymentResponseDto[];
}

export class DeploymentEventDto {
  @ApiProperty({ enum: DeploymentStatus, example: DeploymentStatus.InProgress })
  status: DeploymentStatus;

  @ApiProperty({ example: 'Rollout started' })
  message: string;

  @ApiProperty({ example: '2026-11-25T10:30:00.120Z' })
  at: string;
}

export class DeploymentEventsResponseDto {
  @ApiProperty({ type: [DeploymentEventDto] })
  events: DeploymentEventDto[];
}

/** `POST /deployments/async`: the operation to poll, and where. */
export class AcceptedDeploymentResponseDto extends OperationResponseDto {
  @ApiProperty({ example: OP_ID, description: 'Same as `id`.' })
  operation_id: string;

  @ApiProperty(STATUS_URL)
  status_url: string;

  @ApiProperty({ example: ID })
  deployment_id: string;
}

export class RollbackResponseDto {
  @ApiProperty({ example: ID, description: 'The deployment being rolled back.' })
  deployment_id: string;

  @ApiProperty({
    example: '0193a6f2-0c1d-7e2f-a3b4-c5d6e7f8a9b0',
    description: 'The new deployment that restores the earlier version.',
  })
  rollback_id: string;

  @ApiProperty({ example: 'initiated', enum: ['initiated'] })
  status: 'initiated';

  @ApiProperty({ example: 'alice-laptop' })
  requested_by: string;

  @ApiProperty({ example: 'Error rate doubled', nullable: true, type: String })
  reason: string | null;

  @ApiProperty({ example: '2026-11-25T10:31:00.000Z' })
  initiated_at: string;

  @ApiProperty({ example: OP_ID })
  operation_id: string;

  @ApiProperty(STATUS_URL)
  status_url: string;
}
