import { applyDecorators, ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainToInstance, Transform } from 'class-transformer';
import { IsDefined, IsString, Length, Matches, ValidateBy, validateSync } from 'class-validator';
import { CONTROL_CHARACTER } from './control-characters';
import { ApiError, FieldError } from './errors/api-error';

/**
 * RFC 3339 `date-time`: a full date, `T`, a full time with optional fractional seconds, and `Z` or
 * an offset (`2027-01-01T00:00:00Z`, `2027-01-01T01:00:00.5+01:00`). No week dates, no basic
 * format, no date alone.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const daysIn = (year: number, month: number) =>
  month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1];

/**
 * The instant an RFC 3339 date-time names, as the API writes times (`2027-01-01T00:00:00.000Z`),
 * or undefined when `value` is not one: another format, an impossible date (February 30), a leap
 * second (JavaScript has none), or an instant outside years 0000-9999.
 */
export function rfc3339ToIso(value: unknown): string | undefined {
  const match = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const [sign, offsetHours, offsetMinutes] = [match[8], Number(match[9]), Number(match[10])];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (sign && (offsetHours > 23 || offsetMinutes > 59)) return undefined;
  const milliseconds = Math.floor(Number(`0${match[7] ?? ''}`) * 1000);
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, milliseconds);
  const offset = sign ? (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) : 0;
  const instant = new Date(local.getTime() - offset * 60_000);
  const year4 = instant.getUTCFullYear();
  return year4 >= 0 && year4 <= 9999 ? instant.toISOString() : undefined;
}

/**
 * A date-time field: RFC 3339 only (else 400 naming the field), turned into the API's own form
 * (UTC, milliseconds) for the code behind it.
 */
export function IsRfc3339(): PropertyDecorator {
  const normalise = Transform(({ value }: { value: unknown }) => rfc3339ToIso(value) ?? value);
  const validate = ValidateBy({
    name: 'isRfc3339',
    validator: {
      validate: (value: unknown) => rfc3339ToIso(value) !== undefined,
      defaultMessage: (args) =>
        `${args?.property} must be an RFC 3339 date-time such as 2027-01-01T00:00:00Z`,
    },
  });
  return (target, property) => {
    normalise(target, property);
    validate(target, property);
  };
}

/** What the OpenAPI document says of a field with {@link IsSingleLine}. */
export const SINGLE_LINE_DOC =
  'One line of text: control characters (newlines, tabs, ESC, …) and bidirectional overrides are refused.';

/** A single line of free text: any control character is refused (400 naming the field and the character). */
export function IsSingleLine(): PropertyDecorator {
  return ValidateBy({
    name: 'isSingleLine',
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || !CONTROL_CHARACTER.test(value),
      defaultMessage: (args) => {
        const found = CONTROL_CHARACTER.exec(String(args?.value))?.[0] ?? '';
        const code = found.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0');
        return `${args?.property} must be a single line of text without control characters (found U+${code})`;
      },
    },
  });
}

/** The longest reason (of a lock, of an override). */
export const MAX_REASON_CHARS = 500;

/**
 * Why someone locks or overrides: one line of 1-500 characters, not only spaces. `field` is how
 * errors name it (`override.reason` inside an override).
 */
export function IsReason(field: string): PropertyDecorator {
  const length = `${field} must be 1-${MAX_REASON_CHARS} characters`;
  return applyDecorators(
    IsDefined({ message: `${field} is required` }),
    IsString({ message: `${field} must be a string` }),
    Length(1, MAX_REASON_CHARS, { message: length }),
    Matches(/\S/, { message: `${field} must not be blank` }),
    IsSingleLine(),
  );
}

/** Flattens class-validator's tree into `{field, message}` pairs with dotted paths. */
export function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, message]) => ({
      field,
      message: rule === 'whitelistValidation' ? `${field} is not a known field` : message,
    }));
    // When a field is missing, "is required" says it all; drop the format rules it also failed.
    const missing = own.filter((e) => e.message.endsWith('is required'));
    return [...(missing.length > 0 ? missing : own), ...fieldErrors(error.children ?? [], field)];
  });
}

function summary(errors: FieldError[]): string {
  const missing = errors.filter((e) => e.message.endsWith('is required')).map((e) => e.field);
  if (missing.length === errors.length)
    return `Missing required field${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`;
  if (errors.length === 1) return `Invalid ${errors[0].field}: ${errors[0].message}`;
  return `${errors.length} problems with the request: ${errors.map((e) => e.message).join('; ')}`;
}

/** JSON deeper than this is refused: no request of this API nests more than a few levels. */
export const MAX_JSON_DEPTH = 32;

/**
 * What class-validator cannot see: nesting deeper than {@link MAX_JSON_DEPTH}, NUL characters
 * (no database stores them), and keys that class-transformer drops silently (`__proto__`,
 * `constructor`, `toString`, …). Walks iteratively, so a hostile depth cannot overflow the stack.
 */
export function refuseUnseeable(value: unknown): FieldError | undefined {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [
    { value, path: '', depth: 0 },
  ];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const field = item.path || 'body';
    if (typeof item.value === 'string' && item.value.includes('\u0000')) {
      return { field, message: `${field} must not contain NUL (\\u0000) characters` };
    }
    if (!item.value || typeof item.value !== 'object') continue;
    if (item.depth >= MAX_JSON_DEPTH)
      return { field, message: `${field} is nested deeper than ${MAX_JSON_DEPTH} levels` };
    for (const [key, inner] of Object.entries(item.value as Record<string, unknown>)) {
      const path = item.path ? `${item.path}.${key}` : key;
      if (key in Object.prototype || key === 'prototype')
        return { field: path, message: `${path} is not a known field` };
      stack.push({ value: inner, path, depth: item.depth + 1 });
    }
  }
  return undefined;
}

/** Query DTOs by whether `{}` passes them (then their defaults answer an empty query string). */
const validWhenEmpty = new WeakMap<object, boolean>();

function isValidWhenEmpty(metatype: new () => object): boolean {
  let valid = validWhenEmpty.get(metatype);
  if (valid === undefined) {
    valid = validateSync(plainToInstance(metatype, {})).length === 0;
    validWhenEmpty.set(metatype, valid);
  }
  return valid;
}

function isEmptyObject(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
}

/** class-validator's pipe, after {@link refuseUnseeable}. */
class ApiValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // Bodies were checked as they were parsed (app.setup.ts); query strings are checked here.
    if (metadata.type === 'query') {
      // No query string: the DTO's defaults (a spec checks they are what a full validation
      // makes of `{}`), without class-transformer and class-validator on every plain GET; unless
      // the DTO requires a field, when the full validation answers the 400.
      const metatype = metadata.metatype as (new () => object) | undefined;
      if (isEmptyObject(value) && metatype && metatype !== Object && isValidWhenEmpty(metatype))
        return Promise.resolve(new metatype());
      const problem = refuseUnseeable(value);
      if (problem)
        throw ApiError.validation(`Invalid ${problem.field}: ${problem.message}`, [problem]);
    }
    return super.transform(value, metadata);
  }
}

/** The global pipe: unknown fields refused, types converted, every failing field reported. */
export function createValidationPipe(): ValidationPipe {
  return new ApiValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const list = fieldErrors(errors);
      return ApiError.validation(summary(list), list);
    },
  });
}
