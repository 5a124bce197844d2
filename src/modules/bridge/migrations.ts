import type { Migration } from "../../store/migrations";

// This feature's tables (see src/store/migrations/index.ts for the numbering).
export const bridgeMigrations: Migration[] = [];
