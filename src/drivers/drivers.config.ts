import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { parse } from 'yaml';
import { AppConfig } from '../config/app-config';
import { Driver } from './driver';
import { DRIVER_NAMES, DRIVERS, DriverEntry, DriverName } from './drivers.registry';

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
  const baseDir = path ? dirname(path) : process.cwd();
  const validate = (at: string, raw: unknown) => validateDriver(at, raw, path);
  if (!path) {
    const fallback = validate('default', { driver: 'simulated' });
    return { fallback: create(fallback, config, baseDir, new Set()), byEnvironment: new Map() };
  }

  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`FLIGHTDECK_CONFIG ${path} could not be read: ${(error as Error).message}`, {
      cause: error,
    });
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
  // Every driver's settings first: a command must not see a secret of any driver in the file.
  const fallback = validate('default', raw.default ?? { driver: 'simulated' });
  const named = Object.entries(environments).map(
    ([name, s]) => [name, validate(`environments.${name}`, s)] as const,
  );
  const secrets = new Set(
    [fallback, ...named.map(([, v]) => v)].flatMap((v) => v.entry.secrets?.(v.settings) ?? []),
  );
  return {
    fallback: create(fallback, config, baseDir, secrets),
    byEnvironment: new Map(
      named.map(([name, v]) => [name, create(v, config, baseDir, secrets)] as const),
    ),
  };
}

interface ValidDriver {
  /** Where it is in the file, for messages. */
  where: string;
  entry: DriverEntry<object>;
  settings: object;
}

function validateDriver(at: string, raw: unknown, path?: string): ValidDriver {
  const where = `FLIGHTDECK_CONFIG ${path ?? '(none)'}: ${at}`;
  if (!isObject(raw)) throw new Error(`${where} must be a mapping with a \`driver\` key`);
  const name = raw.driver as DriverName;
  if (!DRIVER_NAMES.includes(name)) {
    throw new Error(`${where}.driver must be one of: ${DRIVER_NAMES.join(', ')}`);
  }
  const entry = DRIVERS[name] as DriverEntry<object>;
  const settings = plainToInstance(entry.settings, raw);
  const errors = validateSync(settings, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw new Error(`${where}: ${describe(errors, at).join('; ')}`);
  return { where, entry, settings };
}

function create(
  { where, entry, settings }: ValidDriver,
  config: AppConfig,
  baseDir: string,
  secretVariables: ReadonlySet<string>,
): Driver {
  try {
    return entry.create(settings, { config, baseDir, secretVariables });
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
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
