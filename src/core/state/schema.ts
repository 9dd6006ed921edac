/**
 * The state store's schema, applied in order, once for each engine. A database records how many
 * migrations it has had (SQLite in `PRAGMA user_version`, PostgreSQL in `graft_schema`); a
 * database from a newer graft is refused, not guessed at. A change to the schema is a new entry
 * at the end of both lists, saying the same thing in each engine's words.
 */
/** Team mode's tables: the same in both engines but for the integer type's name. */
function teamTables(integer: string): string {
  return `ALTER TABLE sessions ADD COLUMN owner TEXT;
   CREATE TABLE session_members (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     operator TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('owner', 'approver', 'viewer')),
     granted_by TEXT NOT NULL,
     granted_at TEXT NOT NULL,
     PRIMARY KEY (session_id, operator)
   );
   CREATE TABLE session_secrets (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     path TEXT NOT NULL,
     mode ${integer} NOT NULL,
     digest TEXT NOT NULL,
     sealed TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (session_id, path)
   );`;
}

const taskLogs = `CREATE TABLE task_logs (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     task TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     output TEXT NOT NULL,
     saved_at TEXT NOT NULL,
     PRIMARY KEY (session_id, task, attempt)
   );`;

export const sqliteMigrations: string[] = [
  `CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     status TEXT NOT NULL,
     provisioner TEXT NOT NULL,
     spec TEXT NOT NULL
   );
   CREATE TABLE hosts (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     name TEXT NOT NULL,
     state TEXT NOT NULL,
     record TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (session_id, name)
   );
   CREATE TABLE intents (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     status TEXT NOT NULL,
     detail TEXT,
     created_at TEXT NOT NULL,
     finished_at TEXT
   );
   CREATE INDEX intents_open ON intents(session_id, status);`,
  `ALTER TABLE sessions ADD COLUMN expires_at TEXT;
   CREATE TABLE agents (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     name TEXT NOT NULL,
     host TEXT NOT NULL,
     state TEXT NOT NULL,
     record TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (session_id, name)
   );`,
  `CREATE TABLE runs (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id),
     status TEXT NOT NULL,
     graph TEXT NOT NULL,
     controller_pid INTEGER,
     controller_started_at TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE tasks (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     name TEXT NOT NULL,
     state TEXT NOT NULL,
     record TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (session_id, name)
   );`,
  // Messages between humans and tasks. A broadcast (recipient 'all') is one row; who has read
  // what is one row per reader in message_reads, so each task gets it once. client_key makes a
  // retried post (the helper resends after a lost answer) land once.
  `CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     sender TEXT NOT NULL,
     recipient TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('message', 'status', 'question', 'answer')),
     body TEXT NOT NULL,
     reply_to INTEGER REFERENCES messages(id),
     client_key TEXT,
     created_at TEXT NOT NULL
   );
   CREATE INDEX messages_to ON messages(session_id, recipient, id);
   CREATE INDEX messages_from ON messages(session_id, sender, id);
   CREATE UNIQUE INDEX messages_replies ON messages(reply_to) WHERE kind = 'answer';
   CREATE UNIQUE INDEX messages_client_keys ON messages(session_id, sender, client_key) WHERE client_key IS NOT NULL;
   CREATE TABLE message_reads (
     message_id INTEGER NOT NULL REFERENCES messages(id),
     reader TEXT NOT NULL,
     read_at TEXT NOT NULL,
     PRIMARY KEY (message_id, reader)
   ) WITHOUT ROWID;`,
  // The model gateway (docs/gateway.md). A gateway token is stored as its SHA-256 only; its row
  // binds it to one attempt of one task and agent. model_usage holds one row per request, written
  // as the request starts and completed when its response ends, so a crash loses no finished
  // request's count. Costs are exact integers in pico-dollars; NULL means the model had no price.
  // budgets holds what `graft extend --budget` set, over the graph's own budgets.
  `CREATE TABLE gateway_tokens (
     token_hash TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     task TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     agent TEXT NOT NULL,
     identity TEXT NOT NULL,
     vendor TEXT NOT NULL,
     issued_at TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     revoked_at TEXT
   );
   CREATE INDEX gateway_tokens_identity ON gateway_tokens(session_id, identity);
   CREATE TABLE model_usage (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     task TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     agent TEXT NOT NULL,
     identity TEXT NOT NULL,
     vendor TEXT NOT NULL,
     model TEXT NOT NULL,
     status INTEGER,
     input_tokens INTEGER NOT NULL DEFAULT 0,
     output_tokens INTEGER NOT NULL DEFAULT 0,
     cache_read_tokens INTEGER NOT NULL DEFAULT 0,
     cache_write_tokens INTEGER NOT NULL DEFAULT 0,
     cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
     cost_pico INTEGER,
     started_at TEXT NOT NULL,
     ended_at TEXT
   );
   CREATE INDEX model_usage_task ON model_usage(session_id, task);
   CREATE INDEX model_usage_agent ON model_usage(session_id, agent);
   CREATE TABLE budgets (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     scope TEXT NOT NULL CHECK (scope IN ('graph', 'agent', 'task')),
     name TEXT NOT NULL,
     micro_usd INTEGER NOT NULL,
     set_at TEXT NOT NULL,
     set_by TEXT,
     PRIMARY KEY (session_id, scope, name)
   );`,
  // The warm account pool: accounts made ahead on each host, and who claimed each. A claim is
  // written here before the host hears of it, so no account is ever given to two agents.
  `CREATE TABLE pool_accounts (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     host TEXT NOT NULL,
     account TEXT NOT NULL,
     home TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('ready', 'claimed', 'spent', 'deleted')),
     agent TEXT,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (session_id, host, account)
   );
   CREATE INDEX pool_accounts_state ON pool_accounts(session_id, host, state);`,
  // Team mode (docs/team-mode.md): a run's controller holds a lease. controller_id names one
  // controller process; controller_machine says where its pid means something (machine and pid
  // namespace); lease_expires_at is when another machine may take the run over.
  `ALTER TABLE runs ADD COLUMN controller_id TEXT;
   ALTER TABLE runs ADD COLUMN controller_machine TEXT;
   ALTER TABLE runs ADD COLUMN lease_expires_at TEXT;`,
  // Team mode: who started a session (owner), who else may do what to it (session_members), and
  // the session's key files sealed with the team key (session_secrets, docs/team-mode.md), so
  // another operator's machine can act on the session and a dump of the database opens no host.
  teamTables('INTEGER'),
  // Team mode: each attempt's saved output, so any operator's machine shows it (base64: a task
  // may print bytes PostgreSQL text cannot hold). Written only with a shared store.
  taskLogs,
];

/**
 * The same schema on PostgreSQL. Its first migration is the SQLite list's first seven at once; the
 * second on is the SQLite list's eighth on.
 * Tables the stores read `ORDER BY rowid` get a `rowid` column (insertion order, as SQLite's
 * implicit one); integers are BIGINT, as SQLite's are 64-bit; times stay ISO-8601 text.
 */
export const postgresMigrations: string[] = [
  `CREATE TABLE sessions (
     rowid BIGSERIAL NOT NULL,
     id TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     status TEXT NOT NULL,
     provisioner TEXT NOT NULL,
     spec TEXT NOT NULL,
     expires_at TEXT
   );
   CREATE TABLE hosts (
     rowid BIGSERIAL NOT NULL,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     name TEXT NOT NULL,
     state TEXT NOT NULL,
     record TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (session_id, name)
   );
   CREATE TABLE intents (
     id BIGSERIAL PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     status TEXT NOT NULL,
     detail TEXT,
     created_at TEXT NOT NULL,
     finished_at TEXT
   );
   CREATE INDEX intents_open ON intents(session_id, status);
   CREATE TABLE agents (
     rowid BIGSERIAL NOT NULL,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     name TEXT NOT NULL,
     host TEXT NOT NULL,
     state TEXT NOT NULL,
     record TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (session_id, name)
   );
   CREATE TABLE runs (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id),
     status TEXT NOT NULL,
     graph TEXT NOT NULL,
     controller_pid BIGINT,
     controller_started_at TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE tasks (
     rowid BIGSERIAL NOT NULL,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     name TEXT NOT NULL,
     state TEXT NOT NULL,
     record TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (session_id, name)
   );
   CREATE TABLE messages (
     id BIGSERIAL PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     sender TEXT NOT NULL,
     recipient TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('message', 'status', 'question', 'answer')),
     body TEXT NOT NULL,
     reply_to BIGINT REFERENCES messages(id),
     client_key TEXT,
     created_at TEXT NOT NULL
   );
   CREATE INDEX messages_to ON messages(session_id, recipient, id);
   CREATE INDEX messages_from ON messages(session_id, sender, id);
   CREATE UNIQUE INDEX messages_replies ON messages(reply_to) WHERE kind = 'answer';
   CREATE UNIQUE INDEX messages_client_keys ON messages(session_id, sender, client_key) WHERE client_key IS NOT NULL;
   CREATE TABLE message_reads (
     message_id BIGINT NOT NULL REFERENCES messages(id),
     reader TEXT NOT NULL,
     read_at TEXT NOT NULL,
     PRIMARY KEY (message_id, reader)
   );
   CREATE TABLE gateway_tokens (
     token_hash TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     task TEXT NOT NULL,
     attempt BIGINT NOT NULL,
     agent TEXT NOT NULL,
     identity TEXT NOT NULL,
     vendor TEXT NOT NULL,
     issued_at TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     revoked_at TEXT
   );
   CREATE INDEX gateway_tokens_identity ON gateway_tokens(session_id, identity);
   CREATE TABLE model_usage (
     id BIGSERIAL PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     task TEXT NOT NULL,
     attempt BIGINT NOT NULL,
     agent TEXT NOT NULL,
     identity TEXT NOT NULL,
     vendor TEXT NOT NULL,
     model TEXT NOT NULL,
     status BIGINT,
     input_tokens BIGINT NOT NULL DEFAULT 0,
     output_tokens BIGINT NOT NULL DEFAULT 0,
     cache_read_tokens BIGINT NOT NULL DEFAULT 0,
     cache_write_tokens BIGINT NOT NULL DEFAULT 0,
     cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0,
     cost_pico BIGINT,
     started_at TEXT NOT NULL,
     ended_at TEXT
   );
   CREATE INDEX model_usage_task ON model_usage(session_id, task);
   CREATE INDEX model_usage_agent ON model_usage(session_id, agent);
   CREATE TABLE budgets (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     scope TEXT NOT NULL CHECK (scope IN ('graph', 'agent', 'task')),
     name TEXT NOT NULL,
     micro_usd BIGINT NOT NULL,
     set_at TEXT NOT NULL,
     set_by TEXT,
     PRIMARY KEY (session_id, scope, name)
   );
   CREATE TABLE pool_accounts (
     rowid BIGSERIAL NOT NULL,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     host TEXT NOT NULL,
     account TEXT NOT NULL,
     home TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('ready', 'claimed', 'spent', 'deleted')),
     agent TEXT,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (session_id, host, account)
   );
   CREATE INDEX pool_accounts_state ON pool_accounts(session_id, host, state);`,
  `ALTER TABLE runs ADD COLUMN controller_id TEXT;
   ALTER TABLE runs ADD COLUMN controller_machine TEXT;
   ALTER TABLE runs ADD COLUMN lease_expires_at TEXT;`,
  teamTables('BIGINT'),
  taskLogs,
];
