import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** One environment's driver settings, as written in the `FLIGHTDECK_CONFIG` file. */
export type DriverSettings = { driver: 'simulated'; duration_ms?: number; fail_versions?: string };

export interface DriversConfig {
  default: DriverSettings;
  environments: Record<string, DriverSettings>;
}

const DRIVER_NAMES = ['simulated'] as const;

/** Reads and validates the drivers file; an error names the file and the bad key. */
export function loadDriversConfig(path: string | undefined): DriversConfig {
  if (!path) return { default: { driver: 'simulated' }, environments: {} };
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`FLIGHTDECK_CONFIG ${path} could not be read: ${(error as Error).message}`);
  }
  const fail = (key: string, problem: string): never => {
    throw new Error(`FLIGHTDECK_CONFIG ${path}: ${key} ${problem}`);
  };
  if (!isObject(raw))
    return fail('(top level)', 'must be a mapping with `default` and/or `environments`');
  for (const key of Object.keys(raw)) {
    if (key !== 'default' && key !== 'environments')
      fail(key, 'is not a known key (expected default, environments)');
  }
  const environments: Record<string, DriverSettings> = {};
  if (raw.environments !== undefined) {
    if (!isObject(raw.environments))
      fail('environments', 'must be a mapping of environment name to driver settings');
    for (const [name, settings] of Object.entries(raw.environments as Record<string, unknown>)) {
      environments[name] = validateSettings(`environments.${name}`, settings, fail);
    }
  }
  const fallback =
    raw.default === undefined
      ? { driver: 'simulated' as const }
      : validateSettings('default', raw.default, fail);
  return { default: fallback, environments };
}

function validateSettings(
  at: string,
  value: unknown,
  fail: (key: string, problem: string) => never,
): DriverSettings {
  if (!isObject(value)) return fail(at, 'must be a mapping with a `driver` key');
  if (!DRIVER_NAMES.includes(value.driver as (typeof DRIVER_NAMES)[number])) {
    fail(`${at}.driver`, `must be one of: ${DRIVER_NAMES.join(', ')}`);
  }
  const allowed = ['driver', 'duration_ms', 'fail_versions'];
  for (const key of Object.keys(value))
    if (!allowed.includes(key))
      fail(`${at}.${key}`, 'is not a known option of the simulated driver');
  if (
    value.duration_ms !== undefined &&
    !(Number.isInteger(value.duration_ms) && (value.duration_ms as number) >= 0)
  ) {
    fail(`${at}.duration_ms`, 'must be a whole number of milliseconds, 0 or more');
  }
  if (value.fail_versions !== undefined) {
    if (typeof value.fail_versions !== 'string')
      fail(`${at}.fail_versions`, 'must be a regular expression string');
    try {
      new RegExp(value.fail_versions);
    } catch {
      fail(`${at}.fail_versions`, 'is not a valid regular expression');
    }
  }
  return value as DriverSettings;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
