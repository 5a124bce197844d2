/** The database cannot be opened (directory, permissions, a missing file where one existed). */
export class StoreOpenError extends Error {}
