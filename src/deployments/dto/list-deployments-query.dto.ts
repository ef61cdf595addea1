import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsOptional, Matches } from 'class-validator';
import { PaginationQueryDto } from '../../common/pagination';
import { SLUG_MESSAGE, SLUG_PATTERN } from '../../common/slug';
import { DeploymentStatus } from '../deployment.entity';

export class ListDeploymentsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ example: 'payments' })
  @IsOptional()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('service') })
  service?: string;

  @ApiPropertyOptional({ example: 'production' })
  @IsOptional()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('environment') })
  environment?: string;

  @ApiPropertyOptional({ enum: DeploymentStatus })
  @IsOptional()
  @IsEnum(DeploymentStatus, {
    message: `status must be one of: ${Object.values(DeploymentStatus).join(', ')}`,
  })
  status?: DeploymentStatus;
}
