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
