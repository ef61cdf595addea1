import { v7 as uuidv7 } from 'uuid';
import type { Principal } from '../auth/principal';
import { ALL_ENVIRONMENTS } from '../auth/permission.enum';
import type { CreateFreezeDto } from './dto/create-freeze.dto';
import type {
  FreezeListResponseDto,
  FreezeResponseDto,
  FreezeStatusResponseDto,
} from './dto/freeze-response.dto';
import { Freeze } from './freeze.entity';
import { normaliseCron } from './freeze-windows';

/** Freezes as the API shows them, and a requested one as the row it becomes. */

/** A new freeze as `principal` asked for it (validated: exactly one of the two forms). */
export function toNewFreeze(dto: CreateFreezeDto, principal: Principal, now: string): Freeze {
  const recurring = dto.cron !== undefined && dto.cron !== null;
  return Object.assign(new Freeze(), {
    id: uuidv7(),
    name: dto.name,
    environments: dto.environments.includes(ALL_ENVIRONMENTS)
      ? [ALL_ENVIRONMENTS]
      : dto.environments,
    services: dto.services ?? null,
    startsAt: recurring ? null : dto.starts_at!,
    endsAt: recurring ? null : dto.ends_at!,
    cron: recurring ? normaliseCron(dto.cron!) : null,
    durationMinutes: recurring ? dto.duration_minutes! : null,
    timezone: recurring ? (dto.timezone ?? 'UTC') : null,
    createdByKeyId: principal.keyId,
    createdByName: principal.name,
    createdAt: now,
  });
}

export function toFreezeResponse(f: Freeze): FreezeResponseDto {
  return {
    id: f.id,
    name: f.name,
    environments: f.environments,
    services: f.services,
    starts_at: f.startsAt,
    ends_at: f.endsAt,
    cron: f.cron,
    duration_minutes: f.durationMinutes,
    timezone: f.timezone,
    created_by: { key_id: f.createdByKeyId, name: f.createdByName },
    created_at: f.createdAt,
  };
}

export function toFreezeListResponse(freezes: Freeze[]): FreezeListResponseDto {
  return { freezes: freezes.map(toFreezeResponse) };
}

/** `GET /freezes/status`: the freezes that apply now, and when that changes. */
export function toFreezeStatusResponse(
  active: Freeze[],
  nextChangeAt: string | null,
): FreezeStatusResponseDto {
  return {
    frozen: active.length > 0,
    active: active.map(toFreezeResponse),
    next_change_at: nextChangeAt,
  };
}
