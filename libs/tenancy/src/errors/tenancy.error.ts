/** Base class of every error the library throws; `name` tells which one it is. */
export class TenancyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Thrown when a migration helper or the catalog check is given an unsafe identifier or setting name. */
export class TenancyConfigurationError extends TenancyError {}
