import { Type } from 'class-transformer';
import {
  ArrayUnique,
  IsArray,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { SLUG_MESSAGE, SLUG_PATTERN } from '../common/slug';

/** A year, in minutes: the longest soak or approval timeout that still makes sense. */
const MAX_MINUTES = 525_600;

/** Keys of an `environments.<name>` entry that are policy, not driver settings. */
export const POLICY_KEYS = ['requires', 'soak_minutes', 'approvals'] as const;

export class ApprovalsSettings {
  /** Reviews needed before the rollout starts. */
  @IsInt()
  @Min(1)
  @Max(20)
  required: number;

  /** Without enough approvals by then, the deployment ends `rejected`. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_MINUTES)
  timeout_minutes?: number;
}

/** Promotion and approval rules of one environment, as written in the drivers file. */
export class PolicySettings {
  /** Environments where the same service and version must have succeeded first. */
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @Matches(SLUG_PATTERN, { each: true, message: SLUG_MESSAGE('each of requires') })
  requires?: string[];

  /** How long it must have been successful there. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_MINUTES)
  soak_minutes?: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => ApprovalsSettings)
  approvals?: ApprovalsSettings;
}

/** An environment's policy, as the gates read it. */
export interface EnvironmentPolicy {
  requires: readonly string[];
  soakMinutes: number;
  approvals: { required: number; timeoutMinutes: number } | null;
}

export const NO_POLICY: EnvironmentPolicy = { requires: [], soakMinutes: 0, approvals: null };

export function toPolicy(settings: PolicySettings): EnvironmentPolicy {
  const { approvals } = settings;
  return {
    requires: settings.requires ?? [],
    soakMinutes: settings.soak_minutes ?? 0,
    approvals: approvals
      ? { required: approvals.required, timeoutMinutes: approvals.timeout_minutes ?? 1440 }
      : null,
  };
}

/**
 * The first environment that requires itself, directly or through others, as the path that comes
 * back to it (`['production', 'staging', 'production']`), or `undefined`.
 */
export function findRequiresCycle(
  requires: ReadonlyMap<string, readonly string[]>,
): string[] | undefined {
  const done = new Set<string>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (path.includes(name)) return [...path.slice(path.indexOf(name)), name];
    if (done.has(name)) return undefined;
    for (const next of requires.get(name) ?? []) {
      const cycle = visit(next, [...path, name]);
      if (cycle) return cycle;
    }
    done.add(name);
    return undefined;
  };
  for (const name of requires.keys()) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return undefined;
}
