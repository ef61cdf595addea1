import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { EntityTable, range } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { Freeze } from './freeze.entity';

const NEWEST_FIRST: Array<['createdAt' | 'id', 'DESC']> = [
  ['createdAt', 'DESC'],
  ['id', 'DESC'],
];

/** The `freezes` table: a few rows, read whole and matched in memory. */
@Injectable()
export class FreezesRepository {
  private readonly table: EntityTable<Freeze>;

  constructor(db: Database) {
    this.table = db.table(Freeze);
  }

  @GenerateSql(
    {
      name: 'one-off',
      params: [
        {
          id: Example.id,
          name: 'Black Friday',
          environments: ['production'],
          services: ['payments', 'checkout'],
          startsAt: Example.time,
          endsAt: Example.laterTime,
          cron: null,
          durationMinutes: null,
          timezone: null,
          createdByKeyId: Example.otherId,
          createdByName: 'release-managers',
          createdAt: Example.time,
        },
      ],
    },
    {
      name: 'recurring',
      params: [
        {
          id: Example.id,
          name: 'Weekends',
          environments: ['*'],
          services: null,
          startsAt: null,
          endsAt: null,
          cron: '0 18 * * 5',
          durationMinutes: 3660,
          timezone: 'Europe/Berlin',
          createdByKeyId: Example.otherId,
          createdByName: 'release-managers',
          createdAt: Example.time,
        },
      ],
    },
  )
  async insert(freeze: Freeze): Promise<void> {
    await this.table.insert(freeze);
  }

  @GenerateSql({ params: [Example.id] })
  findById(id: string): Promise<Freeze | null> {
    return this.table.findOne({ id });
  }

  /** Deletes a freeze; answers whether it was there. */
  @GenerateSql({ params: [Example.id] })
  async delete(id: string): Promise<boolean> {
    return (await this.table.delete({ id })) > 0;
  }

  /**
   * The freezes that may still apply at or after `at`, newest first: every recurring one (no
   * `ends_at`), and the one-offs ending after `at`.
   */
  @GenerateSql({ params: [Example.time] })
  async findNotOver(at: string): Promise<Freeze[]> {
    const recurring = await this.table.find({ where: { endsAt: null }, order: NEWEST_FIRST });
    const oneOff = await this.table.find({
      where: { endsAt: range({ above: at }) },
      order: NEWEST_FIRST,
    });
    const position = (f: Freeze) => `${f.createdAt} ${f.id}`;
    return [...recurring, ...oneOff].sort((a, b) => (position(a) < position(b) ? 1 : -1));
  }
}
