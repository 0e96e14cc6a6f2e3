// Schema, append-only: a released migration is never edited, a new one is added.
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'admin audit log',
    sql: `CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY,
      at TEXT NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT '{}'
    );`,
  },
  {
    version: 2,
    name: 'orders, call attempts, acknowledgements, feedback, case events, department changes',
    sql: `
    CREATE TABLE department_changes (
      id INTEGER PRIMARY KEY,
      department_id TEXT NOT NULL,
      body TEXT NOT NULL,          -- validated PUT body (JSON), applied over config/ in id order
      actor TEXT NOT NULL,
      at TEXT NOT NULL
    );
    CREATE TABLE settings (
      key TEXT PRIMARY KEY,        -- e.g. 'directory': command centre and county leaders
      value TEXT NOT NULL,         -- JSON
      actor TEXT NOT NULL,
      at TEXT NOT NULL
    );
    CREATE TABLE orders (
      id TEXT PRIMARY KEY,
      code TEXT NOT NULL UNIQUE,   -- short numeric code a person keys in
      external_id TEXT NOT NULL UNIQUE,
      category TEXT NOT NULL,
      department_id TEXT NOT NULL,
      summary TEXT NOT NULL,
      address TEXT NOT NULL,
      reporter_phone TEXT NOT NULL,
      urgency TEXT NOT NULL CHECK (urgency IN ('urgent', 'normal')),
      major INTEGER NOT NULL CHECK (major IN (0, 1)),
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      resume TEXT                  -- JSON resume point of the order machine while dispatching
    );
    CREATE INDEX orders_status ON orders (status);
    CREATE INDEX orders_department_created ON orders (department_id, created_at);
    CREATE INDEX orders_created ON orders (created_at);
    CREATE TABLE attempts (
      id TEXT PRIMARY KEY,         -- also the Asterisk channel id
      order_id TEXT NOT NULL REFERENCES orders (id),
      seq INTEGER NOT NULL,
      script TEXT NOT NULL CHECK (script IN ('dispatch', 'alarm', 'major')),
      contact_id TEXT NOT NULL,
      number TEXT NOT NULL,
      started_at TEXT NOT NULL,
      answered_at TEXT,
      ended_at TEXT,
      result TEXT,
      reason TEXT,
      digits TEXT NOT NULL DEFAULT '',
      cause_code INTEGER,
      cause_text TEXT,
      chain_loop INTEGER,
      contact_index INTEGER,
      attempt_on_contact INTEGER NOT NULL,
      UNIQUE (order_id, seq)
    );
    CREATE TABLE acknowledgements (
      id INTEGER PRIMARY KEY,
      order_id TEXT NOT NULL REFERENCES orders (id),
      attempt_id TEXT UNIQUE REFERENCES attempts (id),
      contact_id TEXT,
      script TEXT NOT NULL,        -- dispatch: accepted the order; alarm/major: confirmed hearing it
      via TEXT NOT NULL CHECK (via IN ('phone', 'feedback')),
      accepted_at TEXT NOT NULL,
      seconds_to_accept REAL NOT NULL,
      disputed INTEGER NOT NULL CHECK (disputed IN (0, 1)),
      late INTEGER NOT NULL CHECK (late IN (0, 1))
    );
    CREATE INDEX acknowledgements_order ON acknowledgements (order_id);
    CREATE TABLE feedback (
      id INTEGER PRIMARY KEY,
      order_id TEXT NOT NULL REFERENCES orders (id),
      kind TEXT NOT NULL CHECK (kind IN ('arrived', 'progress', 'completed')),
      note TEXT,
      via TEXT NOT NULL CHECK (via IN ('api', 'phone')),
      actor TEXT NOT NULL,
      at TEXT NOT NULL
    );
    CREATE INDEX feedback_order ON feedback (order_id);
    CREATE TABLE order_events (
      id INTEGER PRIMARY KEY,
      order_id TEXT NOT NULL REFERENCES orders (id),
      at TEXT NOT NULL,
      actor TEXT NOT NULL,
      kind TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX order_events_order ON order_events (order_id, id);
    `,
  },
  {
    version: 3,
    name: 'callback surveys (three satisfactions), opt-outs, flags for the linkage office',
    sql: `
    CREATE TABLE surveys (
      id TEXT PRIMARY KEY,
      order_id TEXT NOT NULL REFERENCES orders (id),
      kind TEXT NOT NULL CHECK (kind IN ('callback', 'follow_up')),
      status TEXT NOT NULL CHECK (status IN ('scheduled', 'calling', 'completed', 'partial', 'unreachable', 'opted_out', 'cancelled')),
      number TEXT NOT NULL,
      due_at TEXT NOT NULL,        -- next call, already moved into the calling window
      attempts INTEGER NOT NULL DEFAULT 0,
      attitude TEXT CHECK (attitude IN ('satisfied', 'unsatisfied', 'no_answer')),
      speed TEXT CHECK (speed IN ('satisfied', 'unsatisfied', 'no_answer')),
      quality TEXT CHECK (quality IN ('satisfied', 'unsatisfied', 'no_answer')),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      finished_at TEXT,
      UNIQUE (order_id, kind)
    );
    CREATE INDEX surveys_due ON surveys (status, due_at);
    CREATE TABLE survey_attempts (
      id TEXT PRIMARY KEY,         -- also the Asterisk channel id
      survey_id TEXT NOT NULL REFERENCES surveys (id),
      seq INTEGER NOT NULL,
      started_at TEXT NOT NULL,
      answered_at TEXT,
      ended_at TEXT,
      result TEXT,
      reason TEXT,
      cause_code INTEGER,
      cause_text TEXT,
      UNIQUE (survey_id, seq)
    );
    CREATE TABLE survey_opt_outs (
      number TEXT PRIMARY KEY,     -- never called for a survey again
      survey_id TEXT NOT NULL,
      at TEXT NOT NULL
    );
    CREATE TABLE flags (
      id INTEGER PRIMARY KEY,
      order_id TEXT NOT NULL REFERENCES orders (id),
      survey_id TEXT NOT NULL REFERENCES surveys (id),
      reason TEXT NOT NULL,
      created_at TEXT NOT NULL,
      UNIQUE (survey_id)
    );
    `,
  },
  // Issue 13 (versions 10-19): the feedback line's PIN per unit, hashed (scrypt, own salt).
  {
    version: 10,
    name: 'feedback-line PIN per unit (hashed)',
    sql: `
    CREATE TABLE unit_pins (
      department_id TEXT PRIMARY KEY,
      salt TEXT NOT NULL,          -- hex, 16 random bytes
      hash TEXT NOT NULL,          -- hex scrypt(pin, salt), 32 bytes
      set_at TEXT NOT NULL,
      set_by TEXT NOT NULL
    );
    `,
  },
  // Issue 13: the linkage office works the flags: owner, status, resolution note, history.
  {
    version: 11,
    name: 'flag workflow: owner, status, resolution, history',
    sql: `
    ALTER TABLE flags ADD COLUMN owner TEXT;
    ALTER TABLE flags ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
    ALTER TABLE flags ADD COLUMN resolution TEXT;
    ALTER TABLE flags ADD COLUMN updated_at TEXT;
    CREATE TABLE flag_history (
      id INTEGER PRIMARY KEY,
      flag_id INTEGER NOT NULL REFERENCES flags (id),
      at TEXT NOT NULL,
      actor TEXT NOT NULL,
      changes TEXT NOT NULL        -- JSON: {field: {from, to}} for owner, status, resolution
    );
    CREATE INDEX flag_history_flag ON flag_history (flag_id, id);
    `,
  },
  {
    version: 20,
    name: 'webhook outbox: events, per-subscriber deliveries with retry state, subscribers',
    sql: `
    CREATE TABLE webhook_subscribers (
      id TEXT PRIMARY KEY,
      url TEXT NOT NULL,
      department_id TEXT,          -- NULL: every department's events
      events TEXT,                 -- JSON array of event names; NULL: every event
      created_at TEXT NOT NULL,
      actor TEXT NOT NULL
    );
    CREATE TABLE webhook_events (
      seq INTEGER PRIMARY KEY,     -- order of occurrence
      id TEXT NOT NULL UNIQUE,     -- the id receivers deduplicate on
      event TEXT NOT NULL,
      department_id TEXT,
      occurred_at TEXT NOT NULL,
      payload TEXT NOT NULL        -- JSON
    );
    CREATE TABLE webhook_deliveries (
      id TEXT PRIMARY KEY,
      event_seq INTEGER NOT NULL REFERENCES webhook_events (seq),
      subscriber_id TEXT NOT NULL, -- 'global' (LIANDONG_WEBHOOK_URL) or a webhook_subscribers id
      url TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_at INTEGER NOT NULL,    -- ms since the epoch: when the next try is due
      created_at TEXT NOT NULL,
      last_attempt_at TEXT,
      last_status INTEGER,         -- HTTP status of the last answer, NULL when none came
      last_error TEXT,
      last_duration_ms INTEGER,
      delivered_at TEXT
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
    CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq);
    `,
  },
  {
    version: 30,
    name: "informants' privacy: an order may be never called back (callback 0)",
    sql: `
    ALTER TABLE orders ADD COLUMN callback INTEGER NOT NULL DEFAULT 1 CHECK (callback IN (0, 1));
    `,
  },
  {
    version: 31,
    name: 'survey attempts say whether we called the citizen or the citizen called in',
    sql: `
    ALTER TABLE survey_attempts ADD COLUMN via TEXT NOT NULL DEFAULT 'outbound' CHECK (via IN ('outbound', 'inbound'));
    `,
  },
  {
    version: 40,
    name: 'feedback deadlines and reminder calls (督查催办)',
    sql: `
    CREATE TABLE feedback_deadlines (
      id TEXT PRIMARY KEY,         -- '<order id>-arrival' or '<order id>-completion'
      order_id TEXT NOT NULL REFERENCES orders (id),
      kind TEXT NOT NULL CHECK (kind IN ('arrival', 'completion')),
      status TEXT NOT NULL CHECK (status IN ('pending', 'reminding', 'met', 'overdue', 'cancelled')),
      deadline_seconds INTEGER NOT NULL,
      first_due_at TEXT NOT NULL,  -- the deadline as first set (from the acceptance)
      due_at TEXT NOT NULL,        -- the next reminder round
      rounds INTEGER NOT NULL DEFAULT 0,     -- reminder rounds placed
      unanswered INTEGER NOT NULL DEFAULT 0, -- rounds counted toward escalation
      help_requests INTEGER NOT NULL DEFAULT 0,
      missed_at TEXT,              -- when the deadline first passed without the feedback
      met_at TEXT,
      overdue_at TEXT,             -- escalated to the leader, flagged for the linkage office
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      UNIQUE (order_id, kind)
    );
    CREATE INDEX feedback_deadlines_due ON feedback_deadlines (status, due_at);
    CREATE TABLE reminder_attempts (
      id TEXT PRIMARY KEY,         -- also the Asterisk channel id: '<order id>-r<seq>'
      order_id TEXT NOT NULL REFERENCES orders (id),
      deadline_id TEXT NOT NULL REFERENCES feedback_deadlines (id),
      seq INTEGER NOT NULL,
      round INTEGER NOT NULL,
      target TEXT NOT NULL CHECK (target IN ('chain', 'leader', 'command_centre')),
      contact_id TEXT NOT NULL,
      number TEXT NOT NULL,
      started_at TEXT NOT NULL,
      answered_at TEXT,
      ended_at TEXT,
      result TEXT,
      reason TEXT,
      digits TEXT NOT NULL DEFAULT '',
      answer TEXT CHECK (answer IN ('done', 'on_the_way', 'need_help')),
      cause_code INTEGER,
      cause_text TEXT,
      UNIQUE (order_id, seq)
    );
    CREATE INDEX reminder_attempts_order ON reminder_attempts (order_id, seq);
    `,
  },
  {
    version: 41,
    name: 'acknowledgements per department; jurisdiction disputes and their settlement',
    sql: `
    ALTER TABLE acknowledgements ADD COLUMN department_id TEXT; -- the unit that accepted (an order may be reassigned)
    ALTER TABLE orders ADD COLUMN dispatched_at TEXT;           -- set when a settled dispute reassigned the order; null = created_at
    UPDATE acknowledgements SET department_id = (SELECT o.department_id FROM orders o WHERE o.id = acknowledgements.order_id);
    CREATE TABLE disputes (
      id INTEGER PRIMARY KEY,
      order_id TEXT NOT NULL REFERENCES orders (id),
      department_id TEXT NOT NULL,  -- the unit that pressed 3: accepted, helps first, disputes jurisdiction
      acknowledgement_id INTEGER REFERENCES acknowledgements (id),
      opened_at TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'rejected')),
      reassigned_to TEXT,           -- upheld with reassignment: the unit the order was dispatched to
      note TEXT,
      decided_by TEXT,
      decided_at TEXT,
      UNIQUE (order_id, department_id)
    );
    CREATE INDEX disputes_status ON disputes (status, opened_at);
    INSERT INTO disputes (order_id, department_id, acknowledgement_id, opened_at, status)
      SELECT k.order_id, k.department_id, k.id, k.accepted_at, 'open' FROM acknowledgements k
      WHERE k.script = 'dispatch' AND k.disputed = 1 AND k.late = 0 AND k.department_id IS NOT NULL;
    `,
  },
  {
    version: 42,
    name: 'normal orders go to the department platform first: when to phone if not acknowledged',
    sql: `ALTER TABLE orders ADD COLUMN platform_due_at TEXT; -- set while a normal order waits for its acknowledgement on the platform`,
  },
  // Issue 11, item 2 (versions 43-49): several units on one order.
  {
    version: 43,
    name: 'several units on one order: the co-units beside the lead, each with its own dispatch chain; attempts and feedback name their unit',
    sql: `
    CREATE TABLE order_co_units (
      order_id TEXT NOT NULL REFERENCES orders (id),
      department_id TEXT NOT NULL,
      unit_index INTEGER NOT NULL CHECK (unit_index >= 1), -- 1, 2, …: its attempts' seqs are unit_index * 1000 + 1, …
      status TEXT NOT NULL CHECK (status IN ('dispatching', 'accepted', 'unacknowledged', 'cancelled', 'arrived', 'completed')),
      resume TEXT,                                          -- its order machine's resume point while dispatching
      updated_at TEXT NOT NULL,
      PRIMARY KEY (order_id, department_id),
      UNIQUE (order_id, unit_index)
    );
    CREATE INDEX order_co_units_department ON order_co_units (department_id);
    ALTER TABLE attempts ADD COLUMN department_id TEXT; -- the unit whose chain placed the call (null: older rows, the order's unit)
    ALTER TABLE feedback ADD COLUMN department_id TEXT; -- the unit reporting (null: older rows, the order's unit)
    `,
  },
];
