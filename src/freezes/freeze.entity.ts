import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A freeze window: rollouts of its services in its environments are blocked while it applies.
 * One-off (`startsAt`, `endsAt`) or recurring (`cron`, `durationMinutes`, `timezone`); the other
 * form's columns are null.
 */
@Entity('freezes')
export class Freeze {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  /** Environment names, or `["*"]` for every environment. */
  @Column({ type: 'simple-json' })
  environments: string[];

  /** Service names; null for every service. */
  @Column({ type: 'simple-json', nullable: true })
  services: string[] | null;

  @Column({ name: 'starts_at', type: 'varchar', length: 24, nullable: true })
  startsAt: string | null;

  /** A one-off freeze's end; null for a recurring one, which never ends by itself. */
  @Column({ name: 'ends_at', type: 'varchar', length: 24, nullable: true })
  endsAt: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  cron: string | null;

  @Column({ name: 'duration_minutes', type: 'integer', nullable: true })
  durationMinutes: number | null;

  /** The IANA time zone the cron is read in. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  timezone: string | null;

  @Column({ name: 'created_by_key_id', type: 'varchar', length: 36 })
  createdByKeyId: string;

  /** The name of the API key that created it. */
  @Column({ name: 'created_by_name', type: 'varchar', length: 100 })
  createdByName: string;

  @Column({ name: 'created_at', type: 'varchar', length: 24 })
  createdAt: string;
}
