import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import { IsSingleLine, SINGLE_LINE_DOC } from '../../common/validation';
import { OverrideDto, OverrideField } from './override.dto';

export class RollbackDeploymentDto {
  @ApiPropertyOptional({
    example: 'Error rate doubled after 1.4.2',
    maxLength: 2000,
    description: SINGLE_LINE_DOC,
  })
  @IsOptional()
  @IsString()
  @IsSingleLine()
  @Length(0, 2000)
  reason?: string;

  @OverrideField()
  override?: OverrideDto;
}
