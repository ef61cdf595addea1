import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiError, FieldError } from './errors/api-error';

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
      // No query string: the DTO's defaults, which are valid by construction (a spec checks
      // every query DTO), without class-transformer and class-validator on every plain GET.
      if (isEmptyObject(value) && metadata.metatype && metadata.metatype !== Object)
        return Promise.resolve(new (metadata.metatype as new () => unknown)());
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
