import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { GATE_ORDER, GateType, GateVerdict } from '../../gates/gate';
import { LockHolderDto } from '../../locks/dto/lock-response.dto';
import { CreateDeploymentDto } from './create-deployment.dto';

/** `POST /deployments/preflight`: a rollout's request, without its description. */
export class PreflightDto extends OmitType(CreateDeploymentDto, ['description'] as const) {}

/** One gate's verdict, with the fields of its type. */
export class GateVerdictDto {
  @ApiProperty({ enum: GATE_ORDER, example: 'lock' })
  type: GateType;

  @ApiProperty({
    enum: ['passed', 'blocked', 'pending'],
    example: 'blocked',
    description: '`pending`: the approval gate will hold the rollout for reviews.',
  })
  status: GateVerdict['status'];

  @ApiProperty({
    example: 'payments in production is locked by alice-laptop: "Migrating the ledger database"',
  })
  reason: string;

  @ApiPropertyOptional({
    example: '0193a6f3-5e6f-7a80-9b1c-2d3e4f5a6b7c',
    description: 'A blocking lock: its id.',
  })
  lock_id?: string;

  @ApiPropertyOptional({
    type: LockHolderDto,
    description: 'A blocking lock: the key that took it.',
  })
  created_by?: LockHolderDto;

  @ApiPropertyOptional({
    example: '2026-11-25T12:30:00.000Z',
    nullable: true,
    type: String,
    description: 'A blocking lock: when it stops applying (null: until released).',
  })
  expires_at?: string | null;

  @ApiPropertyOptional({
    example: '0193a6f4-1c2d-7e3f-8a4b-5c6d7e8f9a0b',
    description: 'A blocking freeze: its id.',
  })
  freeze_id?: string;

  @ApiPropertyOptional({ example: 'Black Friday', description: 'A blocking freeze: its name.' })
  name?: string;

  @ApiPropertyOptional({
    example: '2026-11-30T08:00:00.000Z',
    nullable: true,
    type: String,
    description: 'A blocking freeze: when its current window closes (null: no end in sight).',
  })
  ends_at?: string | null;

  @ApiPropertyOptional({
    example: 'staging',
    description:
      'A blocking promotion: the environment the version has not (long enough) succeeded in.',
  })
  environment?: string;

  @ApiPropertyOptional({
    example: '2026-11-25T11:00:00.000Z',
    description: 'A blocking promotion whose version is still soaking: when the soak ends.',
  })
  soak_ends_at?: string;
}

export class PreflightResponseDto {
  @ApiProperty({
    example: false,
    description:
      'Whether the rollout would pass the gates now (with the override, if one was given).',
  })
  allowed: boolean;

  @ApiProperty({ example: false, description: 'Whether it would wait for approvals first.' })
  needs_approval: boolean;

  @ApiProperty({
    type: [GateVerdictDto],
    description: 'Every gate checked, in order: at least one verdict each.',
  })
  gates: GateVerdictDto[];
}
