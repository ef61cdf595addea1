import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString, Matches } from 'class-validator';
import { SLUG_MESSAGE, SLUG_PATTERN } from '../../common/slug';
import { IsReason, IsRfc3339, MAX_REASON_CHARS, SINGLE_LINE_DOC } from '../../common/validation';

export class CreateLockDto {
  @ApiProperty({ example: 'production', pattern: SLUG_PATTERN.source })
  @IsDefined({ message: 'environment is required' })
  @IsString()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('environment') })
  environment: string;

  @ApiPropertyOptional({
    example: 'payments',
    pattern: SLUG_PATTERN.source,
    description: 'The service to lock; left out, every service of the environment.',
  })
  @IsOptional()
  @IsString()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('service') })
  service?: string;

  @ApiProperty({
    example: 'Migrating the ledger database',
    minLength: 1,
    maxLength: MAX_REASON_CHARS,
    description: `Why: shown to whoever the lock stops. ${SINGLE_LINE_DOC}`,
  })
  @IsReason('reason')
  reason: string;

  @ApiPropertyOptional({
    example: '2026-11-25T12:30:00.000Z',
    format: 'date-time',
    description:
      'When the lock stops applying by itself: an RFC 3339 date-time in the future. Left out, it holds until released.',
  })
  @IsOptional()
  @IsRfc3339()
  expires_at?: string;
}
