import { ApiProperty } from '@nestjs/swagger';

export class LockHolderDto {
  @ApiProperty({ example: '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d' })
  key_id: string;

  @ApiProperty({ example: 'alice-laptop', description: "The key's name when it took the lock." })
  name: string;
}

export class LockResponseDto {
  @ApiProperty({ example: '0193a6f3-5e6f-7a80-9b1c-2d3e4f5a6b7c' })
  id: string;

  @ApiProperty({ example: 'production' })
  environment: string;

  @ApiProperty({
    example: 'payments',
    nullable: true,
    type: String,
    description: 'Null: every service of the environment.',
  })
  service: string | null;

  @ApiProperty({ example: 'Migrating the ledger database' })
  reason: string;

  @ApiProperty({
    type: LockHolderDto,
    description: 'The key that took it: the only one that may still deploy there.',
  })
  created_by: LockHolderDto;

  @ApiProperty({ example: '2026-11-25T10:30:00.000Z' })
  created_at: string;

  @ApiProperty({
    example: '2026-11-25T12:30:00.000Z',
    nullable: true,
    type: String,
    description: 'When it stops applying; null: until released.',
  })
  expires_at: string | null;
}

export class LockListResponseDto {
  @ApiProperty({ type: [LockResponseDto] })
  locks: LockResponseDto[];
}
