import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ErrorCode } from './error-code.enum';

class FieldErrorDto {
  @ApiProperty({ example: 'service' })
  field: string;

  @ApiProperty({ example: 'service is required' })
  message: string;
}

class ErrorDetailsDto {
  @ApiPropertyOptional({ type: [FieldErrorDto] })
  errors?: FieldErrorDto[];

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description:
      '`deployment_blocked`: every gate that blocks, `{type, reason, ...}` with the fields of its type ' +
      '(lock: `lock_id`, `created_by` `{key_id, name}`, `expires_at`; freeze: `freeze_id`, `name`, `ends_at`; ' +
      'promotion: `environment`, and `soak_ends_at` while the version soaks there).',
    example: [
      {
        type: 'lock',
        reason: 'payments in production is locked by alice-laptop: "Migrating the ledger database"',
        lock_id: '0193a6f3-5e6f-7a80-9b1c-2d3e4f5a6b7c',
        created_by: { key_id: '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d', name: 'alice-laptop' },
        expires_at: null,
      },
    ],
  })
  gates?: Record<string, unknown>[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: '`conflict` on `POST /locks`: the lock in force where the new one would go.',
  })
  lock?: Record<string, unknown>;
}

/** The body of every error response. */
export class ErrorResponseDto {
  @ApiProperty({ enum: ErrorCode, example: ErrorCode.ValidationError })
  error: ErrorCode;

  @ApiProperty({ example: 'Missing required field: service' })
  message: string;

  @ApiPropertyOptional({ type: ErrorDetailsDto })
  details?: ErrorDetailsDto;

  @ApiProperty({ example: '2026-11-25T10:30:00.000Z' })
  timestamp: string;

  @ApiProperty({ example: '5b0c4f7e-2f7a-4d8e-9a51-0c3c8d1f2a77' })
  request_id: string;
}
