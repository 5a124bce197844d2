/** sysexits-style codes, so systemd and scripts can tell failures apart. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 64,
  dataError: 65,
  inputMissing: 66,
  unavailable: 69,
  cantCreate: 73,
  /** Another ferry process holds the database (single-instance lock). */
  locked: 75,
  config: 78,
} as const;
