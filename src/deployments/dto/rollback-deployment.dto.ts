import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';

export class RollbackDeploymentDto {
  @ApiPropertyOptional({ example: 'Error rate doubled after 1.4.2', maxLength: 2000 })
  @IsOptional()
  @IsString()
  @Length(0, 2000)
  reason?: string;
}
