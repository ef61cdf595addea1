import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class OperationLogsQueryDto {
  @ApiPropertyOptional({
    description: 'Return lines numbered after this one.',
    default: 0,
    example: 0,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  after: number = 0;

  @ApiPropertyOptional({ minimum: 1, maximum: 5000, default: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(5000)
  limit: number = 1000;
}

export class LogLineDto {
  @ApiProperty({ example: 12, description: 'Line number within the operation, from 1.' })
  n: number;

  @ApiProperty({ example: '2026-11-25T10:30:01.250Z' })
  at: string;

  @ApiProperty({ enum: ['stdout', 'stderr', 'system'], example: 'stdout' })
  stream: string;

  @ApiProperty({ example: 'Applying manifests…' })
  text: string;
}

export class OperationLogsResponseDto {
  @ApiProperty({ type: [LogLineDto] })
  lines: LogLineDto[];

  @ApiProperty({ example: 12, description: 'Pass as `after` for the next lines.' })
  next: number;

  @ApiProperty({
    example: 0,
    description: 'Oldest lines dropped to keep the log within its bound.',
  })
  dropped: number;

  @ApiProperty({
    example: 'running',
    description: 'The operation status when the lines were read.',
  })
  status: string;
}

export class GetOperationQueryDto {
  @ApiPropertyOptional({
    description:
      'Long-poll: wait up to this many seconds for the operation to finish before answering.',
    minimum: 0,
    maximum: 60,
    example: 30,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60)
  wait?: number;
}
