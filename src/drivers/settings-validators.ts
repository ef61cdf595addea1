import { ValidationOptions, registerDecorator } from 'class-validator';

/** The value compiles as a JavaScript regular expression. */
export function IsRegExp(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isRegExp',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: `${String(propertyName)} must be a valid regular expression`,
        ...options,
      },
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'string') return false;
          try {
            new RegExp(value);
            return true;
          } catch {
            return false;
          }
        },
      },
    });
}

/** The value is an object whose values are all strings (environment variables, headers). */
export function IsStringMap(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isStringMap',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `${String(propertyName)} must map names to strings`, ...options },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.values(value).every((v) => typeof v === 'string'),
      },
    });
}

/**
 * The URL has no `user:password@`: fetch refuses such URLs, and a secret in the URL would show
 * wherever the URL does. (A URL that does not parse is left to `@IsUrl`.)
 */
export function HasNoCredentials(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'hasNoCredentials',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message:
          `${String(propertyName)} must not contain credentials (user:password@); ` +
          'the request is signed with the secret named by secret_env instead',
        ...options,
      },
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'string' || !URL.canParse(value)) return true;
          const url = new URL(value);
          return url.username === '' && url.password === '';
        },
      },
    });
}
