// The part of better-sqlite3's API that Database uses (the package ships no types).
declare module 'better-sqlite3' {
  namespace BetterSqlite3 {
    interface Statement {
      /** True for a statement that answers rows (a SELECT, or a write with RETURNING). */
      readonly reader: boolean;
      raw(on: boolean): Statement;
      all(...values: unknown[]): unknown[][];
      run(...values: unknown[]): { changes: number };
    }
    interface Database {
      prepare(sql: string): Statement;
      pragma(sql: string): unknown;
      close(): void;
    }
  }
  const BetterSqlite3: new (
    file: string,
    options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
  ) => BetterSqlite3.Database;
  export = BetterSqlite3;
}
