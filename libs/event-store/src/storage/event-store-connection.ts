/**
 * Where the store's PostgreSQL is, for the host app's own pools and tools (e.g. `psql`, a
 * TypeORM data source of its own, a backup job): the configured server, or the embedded one the
 * store started. Injectable once `EventStoreModule.forRoot()` is registered.
 *
 * @example
 * constructor(@Inject(EventStoreConnection) private readonly connection: EventStoreConnection) {}
 * const pool = new pg.Pool({ ...this.connection, max: 2 });
 */
export class EventStoreConnection {
  /** Server host. */
  readonly host: string;
  /** Server port. */
  readonly port: number;
  /** User name. */
  readonly user: string;
  /** Password. */
  readonly password: string;
  /** Database name. */
  readonly database: string;
  /** TLS settings as configured, if any. */
  readonly ssl?: boolean | Record<string, unknown>;
  /** The PostgreSQL schema holding the store. */
  readonly schema: string;
  /** Whether this is the embedded PostgreSQL the store started (or adopted). */
  readonly embedded: boolean;

  constructor(details: Omit<EventStoreConnection, never>) {
    this.host = details.host;
    this.port = details.port;
    this.user = details.user;
    this.password = details.password;
    this.database = details.database;
    this.ssl = details.ssl;
    this.schema = details.schema;
    this.embedded = details.embedded;
  }
}
