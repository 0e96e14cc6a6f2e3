// The rows and inputs of orders as the store keeps them (one shape on SQLite and PostgreSQL:
// flags are 0/1 numbers, times ISO text). Re-exported by order-repository.ts.
export type Urgency = 'urgent' | 'normal';
export type FeedbackKind = 'arrived' | 'progress' | 'completed';
export type OrderStatus = 'dispatching' | 'accepted' | 'unacknowledged' | 'cancelled' | 'arrived' | 'completed' | 'surveyed';
export type Script = 'dispatch' | 'alarm' | 'major';

export interface NewOrder {
  readonly externalId: string;
  readonly category: string;
  readonly departmentId: string;
  readonly summary: string;
  readonly address: string;
  readonly reporterPhone: string;
  readonly urgency: Urgency;
  readonly major: boolean;
  /** False: the reporter is never called back (anonymous, asked not to be, or an informant). Default true. */
  readonly callback?: boolean;
  /** Several units on one order: the units dispatched beside the lead (departmentId), in order. */
  readonly coUnits?: readonly string[];
}

export type UnitStatus = 'dispatching' | 'accepted' | 'unacknowledged' | 'cancelled' | 'arrived' | 'completed';

/** A unit dispatched beside the order's lead unit; its chain runs in parallel with the lead's. */
export interface CoUnitRow {
  order_id: string;
  department_id: string;
  /** 1, 2, …: its attempts' seqs start at unit_index × 1000 + 1. */
  unit_index: number;
  status: UnitStatus;
  resume: string | null;
  updated_at: string;
}

export interface OrderRow {
  id: string;
  code: string;
  external_id: string;
  category: string;
  department_id: string;
  summary: string;
  address: string;
  reporter_phone: string;
  urgency: Urgency;
  major: 0 | 1;
  /** 0: never called back (informants' privacy). */
  callback: 0 | 1;
  status: OrderStatus;
  created_at: string;
  updated_at: string;
  resume: string | null;
  /** When the current unit's dispatch began, if a settled dispute reassigned the order; null = created_at. */
  dispatched_at?: string | null;
  /** A normal order sent to the department's platform: when it is phoned unless acknowledged. */
  platform_due_at?: string | null;
}

export interface AttemptRow {
  id: string;
  order_id: string;
  seq: number;
  script: Script;
  contact_id: string;
  number: string;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  result: string | null;
  reason: string | null;
  digits: string;
  cause_code: number | null;
  cause_text: string | null;
  chain_loop: number | null;
  contact_index: number | null;
  attempt_on_contact: number;
  /** The unit whose chain placed the call (null: rows older than migration 43). */
  department_id: string | null;
}

export interface AcknowledgementRow {
  id: number;
  order_id: string;
  attempt_id: string | null;
  contact_id: string | null;
  script: Script;
  via: 'phone' | 'feedback';
  accepted_at: string;
  seconds_to_accept: number;
  disputed: 0 | 1;
  late: 0 | 1;
  /** The unit that accepted (null only for rows older than migration 41 without an order). */
  department_id: string | null;
}

export interface FeedbackRow {
  id: number; order_id: string; kind: FeedbackKind; note: string | null; via: 'api' | 'phone'; actor: string; at: string;
  /** The unit reporting (null: rows older than migration 43, the order's unit). */
  department_id: string | null;
}
export interface EventRow { id: number; order_id: string; at: string; actor: string; kind: string; detail: string }

export interface AttemptStart {
  readonly orderId: string;
  readonly attemptId: string;
  readonly seq: number;
  readonly script: Script;
  readonly contactId: string;
  readonly number: string;
  readonly attemptOnContact: number;
  readonly cursor: { readonly loop: number; readonly contactIndex: number } | null;
  /** The unit whose chain places the call. */
  readonly departmentId?: string;
}

export interface AttemptEnd {
  readonly result: string;
  readonly reason?: string | undefined;
  readonly digits: string;
  readonly answeredAt?: number | undefined;
  readonly endedAt: number;
  readonly cause?: { readonly code: number; readonly text: string } | undefined;
}

/** A case event as the repository appends it (hooks: onEvent). */
export interface CaseEvent { orderId: string; actor: string; kind: string; detail: Record<string, unknown> }

export interface AcceptanceInput {
  orderId: string; attemptId: string | null; contactId: string | null; script: Script; disputed: boolean; via: 'phone' | 'feedback';
  /** A co-unit of the order (not the lead): its own acceptance, its own status. */
  coUnit?: string | undefined;
}

export interface OrderFilter {
  readonly status?: string | undefined;
  readonly departmentId?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly limit: number;
  readonly offset: number;
}
