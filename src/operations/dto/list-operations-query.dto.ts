import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional, IsString, Length } from 'class-validator';
import { PaginationQueryDto } from '../../common/pagination';
import { IsSingleLine } from '../../common/validation';
import { OperationStatus } from '../operation.entity';

export class ListOperationsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ enum: OperationStatus })
  @IsOptional()
  @IsEnum(OperationStatus, {
    message: `status must be one of: ${Object.values(OperationStatus).join(', ')}`,
  })
  status?: OperationStatus;

  @ApiPropertyOptional({ example: 'deployment.rollout' })
  @IsOptional()
  @IsString()
  @IsSingleLine()
  @Length(1, 64)
  type?: string;
}
