import { ApiProperty } from '@nestjs/swagger';
import { OperationStatus } from '../operation.entity';
import { PageDto } from '../../common/pagination';

class OperationTargetDto {
  @ApiProperty({ example: 'deployment' })
  type: string;

  @ApiProperty({ example: '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d' })
  id: string;
}

class OperationErrorDto {
  @ApiProperty({ example: 'driver_failed' })
  code: string;

  @ApiProperty({ example: 'deploy.sh exited with code 1' })
  message: string;
}

/** A long-running operation (AIP-151 style): poll it until `status` is final. */
export class OperationResponseDto {
  @ApiProperty({ example: '0193a6f1-8a2b-7d10-b1c2-5e6f7a8b9c0d' })
  id: string;

  @ApiProperty({
    example: 'deployment.rollout',
    enum: ['deployment.rollout', 'deployment.rollback'],
  })
  type: string;

  @ApiProperty({ enum: OperationStatus, example: OperationStatus.Running })
  status: OperationStatus;

  @ApiProperty({ minimum: 0, maximum: 100, example: 40, description: 'Never goes down.' })
  progress: number;

  @ApiProperty({
    example: 'Rolling out payments 1.4.2 to production (step 4 of 10)',
    nullable: true,
    type: String,
  })
  message: string | null;

  @ApiProperty({ type: OperationTargetDto })
  target: OperationTargetDto;

  @ApiProperty({
    example: false,
    description: 'A cancel was asked for and the operation is stopping.',
  })
  cancel_requested: boolean;

  @ApiProperty({ example: '2026-11-25T10:30:00.000Z' })
  created_at: string;

  @ApiProperty({ example: '2026-11-25T10:30:00.120Z', nullable: true, type: String })
  started_at: string | null;

  @ApiProperty({ example: '2026-11-25T10:30:01.000Z' })
  updated_at: string;

  @ApiProperty({ example: null, nullable: true, type: String })
  finished_at: string | null;

  @ApiProperty({
    type: OperationErrorDto,
    nullable: true,
    description: 'Why it failed; null unless failed.',
  })
  error: OperationErrorDto | null;

  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description: 'What the work produced, once it succeeded.',
  })
  result: Record<string, unknown> | null;
}

export class OperationListResponseDto extends PageDto {
  @ApiProperty({ type: [OperationResponseDto] })
  operations: OperationResponseDto[];
}
