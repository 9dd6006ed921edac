/**
 * The state store's schema, applied in order. `PRAGMA user_version` records how many
 * migrations a database has had; a database from a newer graft is refused, not guessed at.
 */
export const migrations: string[] = [
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
];
