import { AppConfig } from '../config/app-config';
import { CommandDriver, CommandSettings } from './command/command.driver';
import { Driver } from './driver';
import { SimulatedDriver, SimulatedSettings } from './simulated/simulated.driver';
import { WebhookDriver, WebhookSettings } from './webhook/webhook.driver';

/** What building a driver may use besides its own settings. */
export interface DriverContext {
  config: AppConfig;
  /** The folder of the drivers file: relative paths in settings start here. */
  baseDir: string;
  /** Every environment variable any driver in the file keeps a secret in. */
  secretVariables: ReadonlySet<string>;
}

export interface DriverEntry<S> {
  /** A class-validator class describing the driver's settings in the drivers file. */
  settings: new () => S;
  create(settings: S, context: DriverContext): Driver;
  /** The environment variables these settings keep secrets in, hidden from commands. */
  secrets?(settings: S): string[];
}

const entry = <S>(e: DriverEntry<S>) => e;

/** Every driver, by the name used in the drivers file: adding one is a folder and a line here. */
export const DRIVERS = {
  simulated: entry({
    settings: SimulatedSettings,
    create: (s, { config }) => new SimulatedDriver(s, config.simulatedDurationMs),
  }),
  command: entry({
    settings: CommandSettings,
    create: (s, { baseDir, secretVariables }) => new CommandDriver(s, baseDir, secretVariables),
  }),
  webhook: entry({
    settings: WebhookSettings,
    create: (s) => new WebhookDriver(s),
    secrets: (s) => [s.secret_env],
  }),
};

export type DriverName = keyof typeof DRIVERS;
export const DRIVER_NAMES = Object.keys(DRIVERS) as DriverName[];
