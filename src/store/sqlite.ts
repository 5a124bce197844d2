import type BetterSqlite3 from "better-sqlite3";

type DatabaseCtor = typeof BetterSqlite3;

// better-sqlite3 13 ships prebuilt addons with one entry per platform, each a static
// require of its .node file. Static requires are what `bun build --compile` embeds, so the
// binary runs without node_modules. Only the platforms we ship binaries for are listed.
function loadDatabase(): DatabaseCtor {
  const key = `${process.platform}-${process.arch}`;
  switch (key) {
    case "linux-x64":
      return require("better-sqlite3/linux-x64");
    case "linux-arm64":
      return require("better-sqlite3/linux-arm64");
    case "darwin-arm64":
      return require("better-sqlite3/darwin-arm64");
    default:
      return require("better-sqlite3");
  }
}

export const Database: DatabaseCtor = loadDatabase();
export type Db = BetterSqlite3.Database;
export type Statement<P extends unknown[] | {} = unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;
