/** An example call of a repository method: its arguments, and what it shows when there are several. */
export interface SqlExample {
  name?: string;
  params: unknown[];
}

const examples = new Map<object, Map<string, SqlExample[]>>();

/**
 * Lists a repository method in the committed SQL snapshots (`npm run sql` writes `sql/<database>/
 * <file>.sql`; `npm run sql:check` fails in CI when they differ from the code), called with these
 * example arguments — one call per example, so each shape of query it builds can be shown. Every
 * public method of a repository needs it: the script refuses a repository method without one.
 */
export function GenerateSql(...calls: SqlExample[]): MethodDecorator {
  return (target, key) => {
    const byMethod = examples.get(target.constructor) ?? new Map<string, SqlExample[]>();
    examples.set(target.constructor, byMethod);
    byMethod.set(String(key), calls.length > 0 ? calls : [{ params: [] }]);
  };
}

/** The examples of a repository's methods, by method name. */
export function sqlExamples(repository: object): Map<string, SqlExample[]> {
  return examples.get(repository) ?? new Map<string, SqlExample[]>();
}

/** Fixed example values, so the snapshots never change from one run to the next. */
export const Example = {
  id: '01936f3e-2c4a-7000-8000-000000000001',
  otherId: '01936f3e-2c4a-7000-8000-000000000002',
  time: '2026-11-25T10:30:00.000Z',
  laterTime: '2026-11-25T11:30:00.000Z',
} as const;
