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
