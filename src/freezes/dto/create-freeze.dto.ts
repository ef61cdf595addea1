import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsDefined,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { ENVIRONMENT_OR_ALL, SLUG_MESSAGE, SLUG_PATTERN } from '../../common/slug';
import { IsRfc3339, IsSingleLine, SINGLE_LINE_DOC } from '../../common/validation';
import { cronProblem, isTimeZone, MAX_DURATION_MINUTES } from '../freeze-windows';

const ONE_OFF = ['starts_at', 'ends_at'] as const;
const RECURRING = ['cron', 'duration_minutes', 'timezone'] as const;
type Form = typeof ONE_OFF | typeof RECURRING;

/** Null counts as left out: a freeze as the API shows it (with nulls) can be sent back. */
const given = (dto: object, field: string) =>
  (dto as Record<string, unknown>)[field] !== undefined &&
  (dto as Record<string, unknown>)[field] !== null;
const asks = (dto: object, form: Form) => form.some((field) => given(dto, field));

const FORMS =
  'a freeze is one-off (starts_at and ends_at) or recurring (cron and duration_minutes, ' +
  'timezone optional)';

/** Required for its form unless the other form is asked for; checked whenever given. */
const RequiredUnlessOther = (field: string, other: Form) =>
  ValidateIf((dto: object) => given(dto, field) || !asks(dto, other));

const RequiredFor = (field: string, form: 'one-off' | 'recurring') =>
  IsDefined({ message: `${field} is required for a ${form} freeze (${FORMS})` });

/** Refuses a field of the recurring form beside the one-off form's fields. */
function NotWithOneOff(): PropertyDecorator {
  return ValidateBy({
    name: 'notWithOneOff',
    validator: {
      validate: (_value: unknown, args) => !asks(args!.object, ONE_OFF),
      defaultMessage: (args) =>
        `${args?.property} cannot be combined with starts_at or ends_at: ${FORMS}`,
    },
  });
}

function IsCron(): PropertyDecorator {
  return ValidateBy({
    name: 'isCron',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !cronProblem(value),
      defaultMessage: (args) => cronProblem(String(args?.value)) ?? 'cron must be a string',
    },
  });
}

function IsTimeZone(): PropertyDecorator {
  return ValidateBy({
    name: 'isTimeZone',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isTimeZone(value),
      defaultMessage: (args) =>
        `timezone must be an IANA time zone such as Europe/Berlin or UTC, not ${JSON.stringify(args?.value)}`,
    },
  });
}

function EndsAfterStart(): PropertyDecorator {
  return ValidateBy({
    name: 'endsAfterStart',
    validator: {
      // Both are in the API's own form by now (UTC, milliseconds): they compare as strings.
      validate: (value: unknown, args) => {
        const startsAt = (args!.object as CreateFreezeDto).starts_at;
        return typeof startsAt !== 'string' || typeof value !== 'string' || value > startsAt;
      },
      defaultMessage: () => 'ends_at must be after starts_at',
    },
  });
}

export class CreateFreezeDto {
  @ApiProperty({
    example: 'Black Friday',
    minLength: 1,
    maxLength: 100,
    description: `What the freeze is for; it names the freeze in gate answers. ${SINGLE_LINE_DOC}`,
  })
  @IsDefined({ message: 'name is required' })
  @IsString()
  @IsSingleLine()
  @Length(1, 100)
  name: string;

  @ApiProperty({
    description:
      'The environments it freezes, or `["*"]` for every one. The API key must have each of them ' +
      '(for `["*"]`, every environment).',
    example: ['production'],
    type: [String],
  })
  @IsDefined({ message: 'environments is required' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(ENVIRONMENT_OR_ALL, { each: true, message: "each environment must be '*' or a slug" })
  environments: string[];

  @ApiPropertyOptional({
    description:
      'The services it freezes; left out or null, every service. An empty list is refused rather ' +
      'than read as either "none" or "all".',
    example: ['payments', 'checkout'],
    type: [String],
    nullable: true,
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1, {
    message: 'services must name at least one service; leave it out (or null) for every service',
  })
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(SLUG_PATTERN, { each: true, message: SLUG_MESSAGE('each service') })
  services?: string[] | null;

  @ApiPropertyOptional({
    example: '2026-11-27T00:00:00Z',
    format: 'date-time',
    description:
      'One-off: when it starts, an RFC 3339 date-time. It may have started already (it applies at once).',
  })
  @RequiredUnlessOther('starts_at', RECURRING)
  @RequiredFor('starts_at', 'one-off')
  @IsRfc3339()
  starts_at?: string;

  @ApiPropertyOptional({
    example: '2026-11-30T08:00:00Z',
    format: 'date-time',
    description:
      'One-off: when it ends; after `starts_at`, and in the future (a freeze that is over never applies).',
  })
  @RequiredUnlessOther('ends_at', RECURRING)
  @RequiredFor('ends_at', 'one-off')
  @IsRfc3339()
  @EndsAfterStart()
  ends_at?: string;

  @ApiPropertyOptional({
    example: '0 18 * * 5',
    maxLength: 100,
    description:
      'Recurring: a five-field cron (minute hour day-of-month month day-of-week) read in `timezone`; ' +
      'each match starts a window of `duration_minutes`. No seconds field, no `@daily`, no `H`.',
  })
  @RequiredUnlessOther('cron', ONE_OFF)
  @RequiredFor('cron', 'recurring')
  @NotWithOneOff()
  @IsString()
  @MaxLength(100)
  @IsCron()
  cron?: string;

  @ApiPropertyOptional({
    example: 3660,
    minimum: 1,
    maximum: MAX_DURATION_MINUTES,
    description:
      'Recurring: how long each window lasts, in elapsed minutes (31 days at most). Windows that ' +
      'overlap or touch make one.',
  })
  @RequiredUnlessOther('duration_minutes', ONE_OFF)
  @RequiredFor('duration_minutes', 'recurring')
  @NotWithOneOff()
  @IsInt()
  @Min(1)
  @Max(MAX_DURATION_MINUTES)
  duration_minutes?: number;

  @ApiPropertyOptional({
    example: 'Europe/Berlin',
    description: 'Recurring: the IANA time zone the cron is read in (default `UTC`).',
  })
  @IsOptional()
  @NotWithOneOff()
  @IsString()
  @IsTimeZone()
  timezone?: string;
}
