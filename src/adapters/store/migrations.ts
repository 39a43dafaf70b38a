/**
 * Versioned schema. Append only: a released migration is never edited; a change is a new entry.
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'plans, batches, grants, audit, locks, capacity checks',
    sql: `
      CREATE TABLE plans (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('roster', 'revoke', 'rollback')),
        source_digest TEXT,
        digest TEXT NOT NULL,
        header TEXT NOT NULL
      );
      CREATE TABLE plan_people (
        plan_id TEXT NOT NULL REFERENCES plans(id),
        seq INTEGER NOT NULL,
        person TEXT NOT NULL,
        PRIMARY KEY (plan_id, seq)
      );
      CREATE TABLE batches (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        plan_id TEXT NOT NULL UNIQUE REFERENCES plans(id),
        mode TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('applying', 'applied', 'partial', 'failed')),
        actor TEXT NOT NULL,
        runs INTEGER NOT NULL DEFAULT 0,
        rollback_of TEXT REFERENCES batches(id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE batch_items (
        batch_id TEXT NOT NULL REFERENCES batches(id),
        seq INTEGER NOT NULL,
        uid TEXT NOT NULL,
        dn TEXT NOT NULL,
        action TEXT NOT NULL,
        before_tier TEXT,
        after_tier TEXT,
        before_groups TEXT NOT NULL,
        before_ssh_keys TEXT NOT NULL,
        after_ssh_keys TEXT,
        expires TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('pending', 'applied', 'failed')),
        error TEXT,
        applied_at TEXT,
        PRIMARY KEY (batch_id, uid)
      );
      CREATE INDEX batch_items_uid ON batch_items(uid);
      CREATE TABLE grants (
        uid TEXT PRIMARY KEY,
        tier TEXT NOT NULL CHECK (tier IN ('public', 'vpn', 'vpn-bastion')),
        batch_id TEXT NOT NULL REFERENCES batches(id),
        expires TEXT,
        granted_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        batch_id TEXT,
        uid TEXT,
        detail TEXT NOT NULL
      );
      CREATE INDEX audit_batch ON audit(batch_id);
      CREATE INDEX audit_uid ON audit(uid);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
      CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        holder TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        acquired_at TEXT NOT NULL
      );
      CREATE TABLE capacity_checks (
        id TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        topology TEXT NOT NULL,
        verified_sessions INTEGER NOT NULL,
        passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
        summary TEXT NOT NULL
      );
      CREATE INDEX capacity_checks_topology ON capacity_checks(topology, at);
    `,
  },
  {
    version: 2,
    name: 'gateway addresses, per-system outcomes of batch items',
    sql: `
      CREATE TABLE gateway_addresses (
        gateway TEXT NOT NULL,
        uid TEXT NOT NULL,
        tier TEXT NOT NULL CHECK (tier IN ('vpn', 'vpn-bastion')),
        address TEXT NOT NULL,
        assigned_at TEXT NOT NULL,
        PRIMARY KEY (gateway, uid),
        UNIQUE (gateway, address)
      );
      CREATE TABLE batch_item_systems (
        batch_id TEXT NOT NULL REFERENCES batches(id),
        uid TEXT NOT NULL,
        system TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'pending', 'failed')),
        error TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (batch_id, uid, system)
      );
    `,
  },
  {
    version: 3,
    name: 'first and last time each person was seen connected; topology first seen',
    sql: `
      CREATE TABLE person_activity (
        uid TEXT PRIMARY KEY,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
      );
      CREATE TABLE topologies (
        digest TEXT PRIMARY KEY,
        first_seen TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'revocations that outrank a running batch; indexes for expiry and audit reads',
    sql: `
      CREATE TABLE revocations (
        uid TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL
      );
      CREATE INDEX grants_expires ON grants(expires) WHERE expires IS NOT NULL;
      CREATE INDEX audit_action ON audit(action);
    `,
  },
  {
    version: 5,
    name: 'why a change was made (--reason)',
    sql: `ALTER TABLE audit ADD COLUMN reason TEXT;`,
  },
  {
    version: 6,
    name: 'WireGuard public keys and gateway assignments',
    sql: `
      CREATE TABLE wireguard_keys (
        uid TEXT PRIMARY KEY,
        public_key TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL CHECK (source IN ('roster', 'generated')),
        issued_at TEXT NOT NULL
      );
      CREATE TABLE wireguard_assignments (
        uid TEXT PRIMARY KEY,
        gateway TEXT NOT NULL,
        assigned_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 7,
    name: 'capacity checks: dry run, k6 version, duration, scenarios, conditions',
    sql: `
      ALTER TABLE capacity_checks ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1));
      ALTER TABLE capacity_checks ADD COLUMN target_sessions INTEGER;
      ALTER TABLE capacity_checks ADD COLUMN k6_version TEXT;
      ALTER TABLE capacity_checks ADD COLUMN duration_seconds REAL;
      ALTER TABLE capacity_checks ADD COLUMN shape TEXT;
      ALTER TABLE capacity_checks ADD COLUMN scenarios TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE capacity_checks ADD COLUMN conditions TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE capacity_checks ADD COLUMN source TEXT;
      ALTER TABLE capacity_checks ADD COLUMN recorded_by TEXT;
    `,
  },
  {
    version: 8,
    name: 'recorded topologies: every enforcer with its kind and rating, in the order they were recorded',
    sql: `
      CREATE TABLE topology_records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        fingerprint TEXT NOT NULL,
        hosts TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        actor TEXT NOT NULL
      );
      CREATE INDEX topology_records_fingerprint ON topology_records(fingerprint);
    `,
  },
  {
    version: 9,
    name: 'service: API tokens (hashed), capacity history, background batches',
    sql: `
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
      );
      CREATE TABLE capacity_history (
        at TEXT PRIMARY KEY,
        sessions INTEGER NOT NULL,
        limit_sessions INTEGER NOT NULL,
        by_tier TEXT NOT NULL
      );
      CREATE TABLE service_batches (
        batch_id TEXT PRIMARY KEY,
        plan_id TEXT NOT NULL,
        options TEXT NOT NULL,
        actor TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'checkpointed', 'finished')),
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: "plans: a plan's people in one column of the plan instead of one row each",
    // One row per person made saving a 50 000-person plan a third of `rac plan`. Plans saved
    // before are moved over as JSON text, in their order; plans-store.ts reads both kinds.
    sql: `
      ALTER TABLE plans ADD COLUMN people BLOB;
      UPDATE plans SET people = (
        SELECT json_group_array(json(person) ORDER BY seq) FROM plan_people WHERE plan_id = plans.id
      );
      DROP TABLE plan_people;
    `,
  },
];
