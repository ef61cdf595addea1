import { Injectable } from '@nestjs/common';
import type { AuditNote } from '../audit/audit-note';
import { ALL_ENVIRONMENTS } from '../auth/permission.enum';
import {
  assertEnvironmentAllowed,
  canAccessEnvironment,
  coversAllEnvironments,
  Principal,
} from '../auth/principal';
import { ApiError } from '../common/errors/api-error';
import { nowIso } from '../database/columns';
import { Database } from '../database/database';
import { GateDecisionsRepository } from '../gates/gate-decisions.repository';
import { CreateFreezeDto } from './dto/create-freeze.dto';
import { Freeze } from './freeze.entity';
import { toNewFreeze } from './freeze.mapper';
import { FreezeSchedule, nextChange, windowAt } from './freeze-windows';
import { FreezesRepository } from './freezes.repository';

/** A freeze whose window applies, and when that window closes (null: not within a year). */
export interface ActiveFreeze {
  freeze: Freeze;
  endsAt: string | null;
}

export interface FreezeStatus {
  active: Freeze[];
  nextChangeAt: string | null;
}

const isEveryEnvironment = (f: Freeze) => f.environments.includes(ALL_ENVIRONMENTS);

function scheduleOf(f: Freeze): FreezeSchedule {
  return f.cron !== null
    ? { cron: f.cron, durationMinutes: f.durationMinutes!, timezone: f.timezone! }
    : { startsAt: Date.parse(f.startsAt!), endsAt: Date.parse(f.endsAt!) };
}

/** Whether the freeze applies to rollouts in `environment` (of `service`, when given). */
function covers(f: Freeze, environment: string, service?: string): boolean {
  const inEnvironment = isEveryEnvironment(f) || f.environments.includes(environment);
  return (
    inEnvironment && (service === undefined || f.services === null || f.services.includes(service))
  );
}

/** A key sees the freezes touching its environments. */
function isVisibleTo(principal: Principal, f: Freeze): boolean {
  return (
    coversAllEnvironments(principal) ||
    isEveryEnvironment(f) ||
    f.environments.some((e) => canAccessEnvironment(principal, e))
  );
}

/**
 * The environment an audit event about a freeze is filed under: its one environment, `*` for
 * every environment; a freeze on several is filed under none (only keys with `*` see it), as an
 * event has one environment.
 */
function auditEnvironment(environments: string[]): string | null {
  if (environments.includes(ALL_ENVIRONMENTS)) return ALL_ENVIRONMENTS;
  return environments.length === 1 ? environments[0] : null;
}

/** Refuses a key that lacks one of the environments (for `*`: any environment). */
function assertCanManage(principal: Principal, environments: string[]): void {
  if (environments.includes(ALL_ENVIRONMENTS)) {
    if (!coversAllEnvironments(principal))
      throw ApiError.forbidden(
        "Only an API key with every environment ('*') may manage a freeze of every environment",
      );
    return;
  }
  for (const environment of environments) assertEnvironmentAllowed(principal, environment);
}

@Injectable()
export class FreezesService {
  constructor(
    private readonly freezes: FreezesRepository,
    private readonly db: Database,
    private readonly decisions: GateDecisionsRepository,
  ) {}

  async create(principal: Principal, dto: CreateFreezeDto, audit: AuditNote): Promise<Freeze> {
    audit.environment = auditEnvironment(dto.environments);
    assertCanManage(principal, dto.environments);
    const now = nowIso();
    if (dto.ends_at && dto.ends_at <= now) {
      const message = 'ends_at must be in the future: a freeze that is over never applies';
      throw ApiError.validation(message, [{ field: 'ends_at', message }]);
    }
    const freeze = toNewFreeze(dto, principal, now);
    await this.db.transaction(async () => {
      await this.decisions.holdForChange();
      await this.freezes.insert(freeze);
    });
    return freeze;
  }

  /** The freezes that apply now or later and touch the key's environments, newest first. */
  async list(principal: Principal): Promise<Freeze[]> {
    return (await this.freezes.findNotOver(nowIso())).filter((f) => isVisibleTo(principal, f));
  }

  /** Deletes a freeze: 404 when the key cannot see it, 403 when it lacks one of its environments. */
  async remove(principal: Principal, id: string, audit: AuditNote): Promise<void> {
    const freeze = await this.freezes.findById(id);
    if (!freeze || !isVisibleTo(principal, freeze)) throw ApiError.notFound('Freeze', id);
    audit.environment = auditEnvironment(freeze.environments);
    assertCanManage(principal, freeze.environments);
    await this.db.transaction(async () => {
      await this.decisions.holdForChange();
      if (!(await this.freezes.delete(id))) throw ApiError.notFound('Freeze', id);
    });
  }

  /**
   * Which freezes apply now to rollouts in `environment` (of `service`, or of any service), and
   * when that next changes.
   */
  async status(principal: Principal, environment: string, service?: string): Promise<FreezeStatus> {
    assertEnvironmentAllowed(principal, environment);
    const now = nowIso();
    const at = Date.parse(now);
    const matching = (await this.freezes.findNotOver(now)).filter((f) =>
      covers(f, environment, service),
    );
    const next = nextChange(matching.map(scheduleOf), at);
    return {
      active: matching.filter((f) => windowAt(scheduleOf(f), at) !== undefined),
      nextChangeAt: next === null ? null : new Date(next).toISOString(),
    };
  }

  /**
   * The freezes whose window applies at `at` to a rollout of `service` to `environment`, each with
   * when its window closes (overlapping or touching windows merged). In a transaction, read in it.
   */
  async activeFor(environment: string, service: string, at: string): Promise<ActiveFreeze[]> {
    const instant = Date.parse(at);
    const active: ActiveFreeze[] = [];
    for (const freeze of await this.freezes.findNotOver(at)) {
      if (!covers(freeze, environment, service)) continue;
      const window = windowAt(scheduleOf(freeze), instant);
      if (window)
        active.push({
          freeze,
          endsAt: window.end === null ? null : new Date(window.end).toISOString(),
        });
    }
    return active;
  }
}
