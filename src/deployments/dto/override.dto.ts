import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, ValidateNested } from 'class-validator';
import { IsReason, MAX_REASON_CHARS, SINGLE_LINE_DOC } from '../../common/validation';

/** `override: {reason}`: passes the lock, freeze and promotion gates. */
export class OverrideDto {
  @ApiProperty({
    example: 'Hotfix for INC-2041, approved by the on-call lead',
    minLength: 1,
    maxLength: MAX_REASON_CHARS,
    description: `Why the gates are overridden: kept on the deployment and in the audit log. ${SINGLE_LINE_DOC}`,
  })
  @IsReason('override.reason')
  reason: string;
}

/** The optional `override` field of a rollout, rollback or preflight body. */
export function OverrideField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: OverrideDto,
      description:
        'Pass the lock, freeze and promotion gates (needs `deployments:override`, else 403 even when nothing blocks).',
    }),
    IsOptional(),
    IsObject({ message: 'override must be an object: {"reason": "…"}' }),
    ValidateNested(),
    Type(() => OverrideDto),
  );
}
