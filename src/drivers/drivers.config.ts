import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { parse } from 'yaml';
import { AppConfig } from '../config/app-config';
import { Driver } from './driver';
import { DRIVER_NAMES, DRIVERS, DriverEntry, DriverName } from './drivers.registry';
import {
  EnvironmentPolicy,
  findRequiresCycle,
  POLICY_KEYS,
  PolicySettings,
  toPolicy,
} from './environment-policy';

/** What the drivers file says: the driver of the default and of each environment, and policies. */
export interface DriversFile {
  fallback: Driver;
  byEnvironment: Map<string, Driver>;
  /** Environments with promotion or approval rules. */
  policies: Map<string, EnvironmentPolicy>;
}

/**
 * Reads `FLIGHTDECK_CONFIG` (YAML or JSON; JSON is YAML) and builds the drivers it names. Any
 * problem throws a message naming the file and the bad key (at start-up, that stops it).
 */
export function loadDriversFile(config: AppConfig): DriversFile {
  const path = config.driversConfigPath ? resolve(config.driversConfigPath) : undefined;
  const baseDir = path ? dirname(path) : process.cwd();
  const validate = (at: string, raw: unknown) => validateDriver(at, raw, path);
  if (!path) {
    const fallback = validate('default', { driver: 'simulated' });
    return {
      fallback: create(fallback, config, baseDir, new Set()),
      byEnvironment: new Map(),
      policies: new Map(),
    };
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
  const named = Object.entries(environments).map(([name, entry]) => {
    const at = `environments.${name}`;
    if (!isObject(entry))
      throw fail(
        at,
        'must be a mapping of driver settings and/or requires, soak_minutes, approvals',
      );
    const { policy, driver } = splitEntry(entry);
    if (driver.driver === undefined && Object.keys(driver).length > 0)
      throw fail(
        `${at}.${Object.keys(driver)[0]}`,
        'is a driver setting, but the entry names no driver',
      );
    return {
      name,
      policy: validatePolicy(at, policy, path),
      driver: driver.driver === undefined ? undefined : validate(at, driver),
    };
  });
  const policies = new Map(named.flatMap((e) => (e.policy ? [[e.name, e.policy] as const] : [])));
  const cycle = findRequiresCycle(new Map([...policies].map(([n, p]) => [n, p.requires])));
  if (cycle)
    throw fail(
      `environments.${cycle[0]}.requires`,
      cycle.length === 2
        ? 'names the environment itself'
        : `makes a cycle: ${cycle.join(' requires ')}`,
    );
  const drivers = named.flatMap((e) => (e.driver ? [[e.name, e.driver] as const] : []));
  const secrets = new Set(
    [fallback, ...drivers.map(([, v]) => v)].flatMap((v) => v.entry.secrets?.(v.settings) ?? []),
  );
  return {
    fallback: create(fallback, config, baseDir, secrets),
    byEnvironment: new Map(
      drivers.map(([name, v]) => [name, create(v, config, baseDir, secrets)] as const),
    ),
    policies,
  };
}

/** An environment entry's policy keys apart from its driver settings. */
function splitEntry(entry: Record<string, unknown>) {
  const policy: Record<string, unknown> = {};
  const driver: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry))
    ((POLICY_KEYS as readonly string[]).includes(key) ? policy : driver)[key] = value;
  return { policy, driver };
}

function validatePolicy(
  at: string,
  raw: Record<string, unknown>,
  path?: string,
): EnvironmentPolicy | undefined {
  if (Object.keys(raw).length === 0) return undefined;
  const settings = plainToInstance(PolicySettings, raw);
  const errors = validateSync(settings, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0)
    throw new Error(`FLIGHTDECK_CONFIG ${path}: ${describe(errors, at, 'key').join('; ')}`);
  return toPolicy(settings);
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

function describe(
  errors: ValidationError[],
  at: string,
  known = 'option of this driver',
): string[] {
  return errors.flatMap((e) => [
    ...Object.entries(e.constraints ?? {}).map(([rule, message]) =>
      rule === 'whitelistValidation'
        ? `${at}.${e.property} is not a known ${known}`
        : `${at}.${e.property}: ${message}`,
    ),
    ...describe(e.children ?? [], `${at}.${e.property}`, known),
  ]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
