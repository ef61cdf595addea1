import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { parse } from 'yaml';
import { AppConfig } from '../config/app-config';
import { Driver } from './driver';
import { DRIVER_NAMES, DRIVERS, DriverName } from './drivers.registry';

/** The drivers for the default and for each named environment, built once at start-up. */
export interface DriverTable {
  fallback: Driver;
  byEnvironment: Map<string, Driver>;
}

/**
 * Reads `FLIGHTDECK_CONFIG` (YAML or JSON; JSON is YAML) and builds the drivers it names.
 * Any problem stops start-up with a message naming the file and the bad key.
 */
export function loadDrivers(config: AppConfig): DriverTable {
  const path = config.driversConfigPath ? resolve(config.driversConfigPath) : undefined;
  const context = { config, baseDir: path ? dirname(path) : process.cwd() };
  const build = (at: string, raw: unknown) => buildDriver(at, raw, context, path);
  if (!path)
    return { fallback: build('default', { driver: 'simulated' }), byEnvironment: new Map() };

  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`FLIGHTDECK_CONFIG ${path} could not be read: ${(error as Error).message}`);
  }
  const fail = (key: string, problem: string) =>
    new Error(`FLIGHTDECK_CONFIG ${path}: ${key} ${problem}`);
  if (!isObject(raw))
    throw fail('(top level)', 'must be a mapping with `default` and/or `environments`');
  for (const key of Object.keys(raw)) {
    if (key !== 'default' && key !== 'environments')
      throw fail(key, 'is not a known key (expected default, environments)');
  }
  const environments = raw.environments ?? {};
  if (!isObject(environments))
    throw fail('environments', 'must map environment names to driver settings');
  return {
    fallback: build('default', raw.default ?? { driver: 'simulated' }),
    byEnvironment: new Map(
      Object.entries(environments).map(([name, s]) => [name, build(`environments.${name}`, s)]),
    ),
  };
}

function buildDriver(
  at: string,
  raw: unknown,
  context: { config: AppConfig; baseDir: string },
  path?: string,
): Driver {
  const where = `FLIGHTDECK_CONFIG ${path ?? '(none)'}: ${at}`;
  if (!isObject(raw)) throw new Error(`${where} must be a mapping with a \`driver\` key`);
  const name = raw.driver as DriverName;
  if (!DRIVER_NAMES.includes(name)) {
    throw new Error(`${where}.driver must be one of: ${DRIVER_NAMES.join(', ')}`);
  }
  const entry = DRIVERS[name] as {
    settings: new () => object;
    create(s: object, c: typeof context): Driver;
  };
  const settings = plainToInstance(entry.settings, raw);
  const errors = validateSync(settings, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw new Error(`${where}: ${describe(errors, at).join('; ')}`);
  try {
    return entry.create(settings, context);
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
}

function describe(errors: ValidationError[], at: string): string[] {
  return errors.flatMap((e) =>
    Object.entries(e.constraints ?? {}).map(([rule, message]) =>
      rule === 'whitelistValidation'
        ? `${at}.${e.property} is not a known option of this driver`
        : `${at}.${e.property}: ${message}`,
    ),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
