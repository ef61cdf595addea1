import { ApiProperty } from '@nestjs/swagger';

const ID = '0193a6f1-9c4d-7e21-8f3a-1b2c3d4e5f60';

export class FreezeCreatorDto {
  @ApiProperty({ example: '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d' })
  key_id: string;

  @ApiProperty({ example: 'release-managers', description: 'The name of the API key.' })
  name: string;
}

/** A freeze window: one-off (`starts_at`, `ends_at`) or recurring (`cron`, `duration_minutes`, `timezone`). */
export class FreezeResponseDto {
  @ApiProperty({ example: ID })
  id: string;

  @ApiProperty({ example: 'Black Friday' })
  name: string;

  @ApiProperty({
    example: ['production'],
    type: [String],
    description: '`["*"]`: every environment.',
  })
  environments: string[];

  @ApiProperty({
    example: ['payments', 'checkout'],
    type: [String],
    nullable: true,
    description: 'Null: every service.',
  })
  services: string[] | null;

  @ApiProperty({
    example: '2026-11-27T00:00:00.000Z',
    type: String,
    nullable: true,
    description: 'One-off: when it starts; null for a recurring freeze.',
  })
  starts_at: string | null;

  @ApiProperty({
    example: '2026-11-30T08:00:00.000Z',
    type: String,
    nullable: true,
    description: 'One-off: when it ends; null for a recurring freeze.',
  })
  ends_at: string | null;

  @ApiProperty({
    example: null,
    type: String,
    nullable: true,
    description: 'Recurring: the five-field cron that starts each window; null for a one-off.',
  })
  cron: string | null;

  @ApiProperty({
    example: null,
    type: Number,
    nullable: true,
    description: 'Recurring: how long each window lasts; null for a one-off.',
  })
  duration_minutes: number | null;

  @ApiProperty({
    example: null,
    type: String,
    nullable: true,
    description: 'Recurring: the IANA time zone of the cron; null for a one-off.',
  })
  timezone: string | null;

  @ApiProperty({ type: FreezeCreatorDto, description: 'The API key that created it.' })
  created_by: FreezeCreatorDto;

  @ApiProperty({ example: '2026-11-20T09:15:00.000Z' })
  created_at: string;
}

export class FreezeListResponseDto {
  @ApiProperty({ type: [FreezeResponseDto] })
  freezes: FreezeResponseDto[];
}

export class FreezeStatusResponseDto {
  @ApiProperty({ example: true, description: 'Whether a freeze window applies now.' })
  frozen: boolean;

  @ApiProperty({ type: [FreezeResponseDto], description: 'The freezes whose window applies now.' })
  active: FreezeResponseDto[];

  @ApiProperty({
    example: '2026-11-30T08:00:00.000Z',
    type: String,
    nullable: true,
    description:
      'When `frozen` next changes: while frozen, when it thaws (every window that applies, or ' +
      'opens as another closes, has closed); otherwise when the next window opens. Null when ' +
      'nothing will change, or when recurring windows keep it frozen without end in sight (over a ' +
      'year, 500 windows back to back, or 100 hand-overs between freezes).',
  })
  next_change_at: string | null;
}
