import 'reflect-metadata';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { loadDriversFile } from './drivers.config';

function load(yaml: string) {
  const path = join(mkdtempSync(join(tmpdir(), 'fd-policy-')), 'flightdeck.yaml');
  writeFileSync(path, yaml);
  return loadDriversFile(AppConfig.fromEnvironment({ FLIGHTDECK_CONFIG: path }));
}

describe('the drivers file: environment policy', () => {
  it('should read requires, soak_minutes and approvals, with the default timeout of a day', () => {
    const file = load(`
environments:
  staging: { driver: simulated }
  production:
    requires: [staging]
    soak_minutes: 30
    approvals: { required: 2 }
`);
    expect(file.policies.get('production')).toEqual({
      requires: ['staging'],
      soakMinutes: 30,
      approvals: { required: 2, timeoutMinutes: 1440 },
    });
    expect(file.policies.has('staging')).toBe(false);
  });

  it("should give an entry with policy and no driver the default's driver", () => {
    const file = load(`
default: { driver: simulated, duration_ms: 5 }
environments:
  production: { requires: [staging], approvals: { required: 1, timeout_minutes: 60 } }
`);
    expect(file.byEnvironment.has('production')).toBe(false);
    expect(file.policies.get('production')?.approvals).toEqual({ required: 1, timeoutMinutes: 60 });
  });

  it.each([
    [
      'an environment requiring itself',
      'environments:\n  production: { requires: [production] }',
      'environments.production.requires names the environment itself',
    ],
    [
      'a cycle',
      'environments:\n  a: { requires: [b] }\n  b: { requires: [c] }\n  c: { requires: [a] }',
      'environments.a.requires makes a cycle: a requires b requires c requires a',
    ],
    [
      'no required approvals',
      'environments:\n  production: { approvals: { timeout_minutes: 5 } }',
      'environments.production.approvals.required',
    ],
    [
      'an unknown approvals key',
      'environments:\n  production: { approvals: { required: 1, timeout: 5 } }',
      'environments.production.approvals.timeout is not a known key',
    ],
    [
      'a negative soak',
      'environments:\n  production: { soak_minutes: -1 }',
      'environments.production.soak_minutes',
    ],
    [
      'a requires that is not a list of names',
      'environments:\n  production: { requires: staging }',
      'environments.production.requires',
    ],
    [
      'driver settings without a driver',
      'environments:\n  production: { requires: [staging], command: [./deploy.sh] }',
      'environments.production.command is a driver setting, but the entry names no driver',
    ],
  ])('should refuse %s, naming the key', (_, yaml, message) => {
    expect(() => load(yaml)).toThrow(message);
  });
});
