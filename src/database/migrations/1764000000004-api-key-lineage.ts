import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

interface KeyRow {
  id: string;
  name: string;
  created_by_key_id: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const NAME_LENGTH = 100;

/**
 * API keys: names unique among keys not revoked, and no key outliving the key that made it. The
 * keys already stored are brought under both rules first, or the index could not be built and a
 * key made by a revoked or expired key (the backdoor these rules close) would keep working.
 */
export class ApiKeyLineage1764000000004 implements MigrationInterface {
  name = 'ApiKeyLineage1764000000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    const now = new Date().toISOString();
    const rows = (await queryRunner.query(
      'SELECT id, name, created_by_key_id, created_at, expires_at, revoked_at FROM api_keys ORDER BY created_at, id',
    )) as KeyRow[];
    const byId = new Map(rows.map((row) => [row.id, row]));
    const changed = new Set<KeyRow>();

    // A key made by another: revoked if its creator is, expiring no later than its creator (the
    // creator settled first, so the rule reaches down every generation).
    const settled = new Set<string>();
    const settle = (row: KeyRow): void => {
      if (settled.has(row.id)) return;
      settled.add(row.id);
      const creator = row.created_by_key_id ? byId.get(row.created_by_key_id) : undefined;
      if (!creator) return;
      settle(creator);
      if (creator.revoked_at && !row.revoked_at) {
        row.revoked_at = now;
        changed.add(row);
      }
      if (creator.expires_at && (!row.expires_at || row.expires_at > creator.expires_at)) {
        row.expires_at = creator.expires_at;
        changed.add(row);
      }
    };
    rows.forEach(settle);

    // Names among keys not revoked: an expired key is dead, so it gives its name up by being
    // marked revoked; of live keys sharing a name the oldest keeps it, the others become `name (2)`…
    const active = rows.filter((row) => !row.revoked_at);
    for (const row of active) {
      if (row.expires_at && row.expires_at <= now) {
        row.revoked_at = now;
        changed.add(row);
      }
    }
    const taken = new Set<string>();
    for (const row of active.filter((r) => !r.revoked_at)) {
      if (taken.has(row.name)) {
        for (let n = 2; ; n++) {
          const suffix = ` (${n})`;
          const name = row.name.slice(0, NAME_LENGTH - suffix.length) + suffix;
          if (
            !taken.has(name) &&
            !active.some((other) => !other.revoked_at && other.name === name)
          ) {
            row.name = name;
            changed.add(row);
            break;
          }
        }
      }
      taken.add(row.name);
    }

    for (const row of changed) {
      // Named parameters, written in each driver's own placeholders.
      const [sql, values] = queryRunner.dataSource.driver.escapeQueryWithParameters(
        'UPDATE api_keys SET name = :name, expires_at = :expires, revoked_at = :revoked WHERE id = :id',
        { name: row.name, expires: row.expires_at, revoked: row.revoked_at, id: row.id },
      );
      await queryRunner.query(sql, values);
    }

    await queryRunner.createIndex(
      'api_keys',
      new TableIndex({
        name: 'uq_api_keys_active_name',
        columnNames: ['name'],
        isUnique: true,
        where: 'revoked_at IS NULL',
      }),
    );
    // Revoking a key finds the keys it made.
    await queryRunner.createIndex(
      'api_keys',
      new TableIndex({ name: 'ix_api_keys_created_by', columnNames: ['created_by_key_id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('api_keys', 'ix_api_keys_created_by');
    await queryRunner.dropIndex('api_keys', 'uq_api_keys_active_name');
  }
}
