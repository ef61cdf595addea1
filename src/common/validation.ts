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

/** The first field (dotted path) whose string value holds a NUL character, which no database stores. */
function fieldWithNul(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path || 'value' : undefined;
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      const found = fieldWithNul(inner, path ? `${path}.${key}` : key);
      if (found) return found;
    }
  }
  return undefined;
}

/** class-validator's pipe, refusing NUL characters in any body or query string first. */
class ApiValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const field = fieldWithNul(value);
      if (field) {
        const message = `${field} must not contain NUL (\\u0000) characters`;
        throw ApiError.validation(`Invalid ${field}: ${message}`, [{ field, message }]);
      }
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
