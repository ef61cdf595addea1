import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length } from 'class-validator';
import { PageDto, PaginationQueryDto } from '../../common/pagination';
import { IsRfc3339, IsSingleLine } from '../../common/validation';

export class ListAuditEventsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ description: 'Only what this API key did.' })
  @IsOptional()
  @IsString()
  @IsSingleLine()
  @Length(1, 36)
  actor_key_id?: string;

  @ApiPropertyOptional({ example: 'POST /api/v1/deployments/:id/rollback' })
  @IsOptional()
  @IsString()
  @IsSingleLine()
  @Length(1, 160)
  action?: string;

  @ApiPropertyOptional({ description: 'Only events about this deployment, operation or key.' })
  @IsOptional()
  @IsString()
  @IsSingleLine()
  @Length(1, 64)
  target_id?: string;

  @ApiPropertyOptional({ enum: ['succeeded', 'denied', 'failed'] })
  @IsOptional()
  @IsIn(['succeeded', 'denied', 'failed'])
  outcome?: string;

  @ApiPropertyOptional({
    example: '2026-11-25T00:00:00.000Z',
    description: 'At or after this time.',
  })
  @IsOptional()
  @IsRfc3339()
  since?: string;

  @ApiPropertyOptional({
    example: '2026-11-26T00:00:00.000Z',
    description: 'At or before this time.',
  })
  @IsOptional()
  @IsRfc3339()
  until?: string;
}

class AuditActorDto {
  @ApiProperty({ example: '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d' })
  key_id: string;

  @ApiProperty({ example: 'github-actions-payments', nullable: true, type: String })
  name: string | null;
}

class AuditTargetDto {
  @ApiProperty({ example: 'deployment', nullable: true, type: String })
  type: string | null;

  @ApiProperty({ example: '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d', nullable: true, type: String })
  id: string | null;
}

export class AuditEventDto {
  @ApiProperty({ example: '0193a6f2-1111-7e2f-a3b4-c5d6e7f8a9b0' })
  id: string;

  @ApiProperty({ example: '2026-11-25T10:30:00.000Z' })
  at: string;

  @ApiProperty({ example: '5b0c4f7e-2f7a-4d8e-9a51-0c3c8d1f2a77' })
  request_id: string;

  @ApiProperty({
    type: AuditActorDto,
    nullable: true,
    description: 'Null when the request did not authenticate.',
  })
  actor: AuditActorDto | null;

  @ApiProperty({
    example: 'POST /api/v1/deployments',
    description:
      'The method and route pattern of the request; `lock.expired` for a lock found past its `expires_at` ' +
      '(recorded by the request that met it, named by `request_id`, with no actor).',
  })
  action: string;

  @ApiProperty({ type: AuditTargetDto, nullable: true })
  target: AuditTargetDto | null;

  @ApiProperty({ enum: ['succeeded', 'denied', 'failed'], example: 'succeeded' })
  outcome: string;

  @ApiProperty({
    example: 201,
    description:
      'The HTTP status of the answer; 0 for an event the service recorded on its own (`lock.expired`).',
  })
  status: number;

  @ApiProperty({ example: null, nullable: true, type: String })
  error_code: string | null;

  @ApiProperty({ example: '10.0.3.7', nullable: true, type: String })
  source_ip: string | null;

  @ApiProperty({
    example: 'production',
    nullable: true,
    type: String,
    description:
      'The environment of the deployment or operation the request was about; null for keys and settings, ' +
      'and for requests refused before it was known (those only keys with every environment see).',
  })
  environment: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    example: null,
    description:
      'What the event says beyond the columns: `override_reason` and `overridden_gates` for a rollout or rollback ' +
      'that passed gates with an override; `service`, `reason` and `expired_at` for `lock.expired`. Null otherwise.',
  })
  details: Record<string, unknown> | null;
}

export class AuditEventListResponseDto extends PageDto {
  @ApiProperty({ type: [AuditEventDto] })
  audit_events: AuditEventDto[];
}
