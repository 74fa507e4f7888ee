/**
 * The mail-flow state of one mailbox, decided from facts by a rule table.
 *
 * Each rule looks at the facts, and when it matches it names a state, says
 * why in words and points at what explains it (the sign-in, the stuck
 * message, the failed poll, the probe, the test). Every rule that matches is
 * kept, worst first; the state and the reason are the first one's. No rule
 * matching means Healthy. The README's "Mail flow: states" table is this table.
 *
 * | rule              | state          | when                                                          |
 * |-------------------|----------------|---------------------------------------------------------------|
 * | disabled          | Disabled       | the mailbox is switched off (no other rule counts then)       |
 * | sign-in           | Sign-in needed | Microsoft 365 refused the token / nobody signed in            |
 * | secret-expired    | Sign-in needed | app-only: the registration's client secret has expired        |
 * | receive-failing   | Failing        | the last 3 or more receives failed in a row                   |
 * | queue-stuck       | Failing        | the oldest message waiting to go out is older than 30 minutes |
 * | probe-failed      | Failing        | the last round-trip probe was refused or never arrived        |
 * | probe-junk        | Degraded       | the last probe arrived, but in Junk                           |
 * | receive-retrying  | Degraded       | the last 1 or 2 receives failed                               |
 * | queue-slow        | Degraded       | the oldest waiting message is older than 10 minutes           |
 * | probe-slow        | Degraded       | the last round trip took longer than its threshold            |
 * | test-failed       | Degraded       | the newest connection test failed                             |
 * | secret-expiring   | Degraded       | app-only: the client secret expires within 30 days            |
 *
 * An expired client secret is Sign-in needed, not Failing: like a refused
 * sign-in, nothing the mail servers do can fix it, mail waits for the admin
 * to give the app-only registration a new credential (it spends no tries),
 * and it is the state Microsoft's own refusal (AADSTS7000222) leads to anyway
 * once the cached token runs out, so the row does not flip from one to the other.
 */
import { HEALTH_SEVERITY, type HealthExplain, type HealthState } from '../../shared/health.js';
import { SECRET_EXPIRY_WARNING_DAYS, credentialWord, secretExpiryStatus } from '../../shared/oauth-app.js';

/** Receives failed in a row from which a mailbox is Failing. */
export const RECEIVE_FAILURES_FAILING = 3;
/** The age of the oldest waiting message from which a mailbox is Failing. */
export const QUEUE_FAILING_AGE_MS = 30 * 60_000;
/** The age of the oldest waiting message from which a mailbox is Degraded. */
export const QUEUE_DEGRADED_AGE_MS = 10 * 60_000;

/** Everything the rules look at, for one mailbox at one moment. */
export interface HealthFacts {
  /** ms UTC of the evaluation: ages are measured from it. */
  now: number;
  mailboxId: number;
  enabled: boolean;
  /** Set while the mailbox needs a Microsoft sign-in. */
  signIn: { message: string; since: number | null } | null;
  receive: {
    failuresInRow: number;
    lastError: { code: string; message: string } | null;
    /** The last failed poll, to open. */
    lastFailedPollId: number | null;
  };
  queue: {
    pending: number;
    /** Created-at of the oldest message still waiting to go out. */
    oldestCreatedAt: number | null;
    oldestId: number | null;
  };
  lastConnectionTest: { id: number; ok: boolean; at: number; code: string | null; summary: string | null } | null;
  lastProbe: {
    id: number;
    status: 'running' | 'delivered' | 'failed';
    totalMs: number | null;
    folder: string | null;
    diagnosis: { code: string; message: string } | null;
  } | null;
  probeSlowMs: number;
  /**
   * When the credential of the organisation's app-only registration expires
   * (ms UTC): only for a mailbox that signs in app-only, with a secret whose
   * expiry is known (entered, or learned from AADSTS7000222) or a certificate
   * (its "not after"); else null.
   */
  clientSecretExpiresAt: number | null;
  /** Which credential `clientSecretExpiresAt` is of. Default: the client secret. */
  clientCredential?: 'secret' | 'certificate';
}

/** One rule of the table. */
export interface HealthRule {
  /** Stable name, shown with the reason and in the log. */
  id: string;
  state: HealthState;
  /** The reason in words when the rule matches, else null. */
  test(f: HealthFacts): string | null;
  /** What explains it. */
  explain(f: HealthFacts): HealthExplain;
}

function minutes(ms: number): string {
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 120_000 ? `${Math.round(ms / 1000)} s` : minutes(ms);
}

const mailbox = (f: HealthFacts): HealthExplain => ({ kind: 'mailbox', id: f.mailboxId });
const queueAge = (f: HealthFacts): number | null => (f.queue.oldestCreatedAt === null ? null : f.now - f.queue.oldestCreatedAt);
const oldestMessage = (f: HealthFacts): HealthExplain => (f.queue.oldestId !== null ? { kind: 'outbox-message', id: f.queue.oldestId } : mailbox(f));
const failedPoll = (f: HealthFacts): HealthExplain => (f.receive.lastFailedPollId !== null ? { kind: 'inbox-poll', id: f.receive.lastFailedPollId } : mailbox(f));
const probe = (f: HealthFacts): HealthExplain => (f.lastProbe ? { kind: 'probe', id: f.lastProbe.id } : mailbox(f));
/** The mailbox's sign-in: for an app-only mailbox its screen shows the registration and its secret. */
const signInOf = (f: HealthFacts): HealthExplain => ({ kind: 'sign-in', id: f.mailboxId });
const secretExpiry = (f: HealthFacts) =>
  f.clientSecretExpiresAt === null ? null : secretExpiryStatus(f.clientSecretExpiresAt, f.now, f.clientCredential === 'certificate' ? 'certificate' : 'entered');
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The rule table, in the order ties are broken (the first of the worst state wins). */
export const HEALTH_RULES: readonly HealthRule[] = [
  {
    id: 'disabled',
    state: 'disabled',
    test: (f) => (f.enabled ? null : 'Switched off: Mailroom neither sends nor receives for it.'),
    explain: mailbox,
  },
  {
    id: 'sign-in',
    state: 'sign-in-needed',
    test: (f) => (f.signIn ? `Sign-in needed: ${f.signIn.message}` : null),
    explain: signInOf,
  },
  {
    id: 'secret-expired',
    state: 'sign-in-needed',
    test: (f) => {
      const expiry = secretExpiry(f);
      if (expiry?.state !== 'expired') return null;
      const renew = expiry.credential === 'certificate' ? 'a new certificate or a client secret' : 'a new secret or a certificate';
      return `The app-only ${credentialWord(expiry)} expired on ${day(expiry.expiresAt)}: this mailbox cannot sign in until the registration gets ${renew}.`;
    },
    explain: signInOf,
  },
  {
    id: 'receive-failing',
    state: 'failing',
    test: (f) =>
      f.receive.failuresInRow >= RECEIVE_FAILURES_FAILING
        ? `The last ${f.receive.failuresInRow} receives failed${f.receive.lastError ? `: ${f.receive.lastError.code} ${f.receive.lastError.message}` : ''}`
        : null,
    explain: failedPoll,
  },
  {
    id: 'queue-stuck',
    state: 'failing',
    test: (f) => {
      const age = queueAge(f);
      return age !== null && age > QUEUE_FAILING_AGE_MS ? `The oldest of ${f.queue.pending} message(s) waiting to go out has waited ${minutes(age)} (more than 30 min).` : null;
    },
    explain: oldestMessage,
  },
  {
    id: 'probe-failed',
    state: 'failing',
    test: (f) =>
      f.lastProbe?.status === 'failed' && f.lastProbe.diagnosis?.code !== 'PROBE_IN_JUNK'
        ? `The last round-trip probe failed: ${f.lastProbe.diagnosis ? `${f.lastProbe.diagnosis.code} ${f.lastProbe.diagnosis.message}` : 'no diagnosis'}`
        : null,
    explain: probe,
  },
  {
    id: 'probe-junk',
    state: 'degraded',
    test: (f) => (f.lastProbe?.status === 'failed' && f.lastProbe.diagnosis?.code === 'PROBE_IN_JUNK' ? `The last round-trip probe was delivered to ${f.lastProbe.folder ?? 'Junk'}, not to the inbox.` : null),
    explain: probe,
  },
  {
    id: 'receive-retrying',
    state: 'degraded',
    test: (f) =>
      f.receive.failuresInRow > 0 && f.receive.failuresInRow < RECEIVE_FAILURES_FAILING
        ? `The last receive failed (${f.receive.failuresInRow} in a row)${f.receive.lastError ? `: ${f.receive.lastError.code} ${f.receive.lastError.message}` : ''}`
        : null,
    explain: failedPoll,
  },
  {
    id: 'queue-slow',
    state: 'degraded',
    test: (f) => {
      const age = queueAge(f);
      return age !== null && age > QUEUE_DEGRADED_AGE_MS && age <= QUEUE_FAILING_AGE_MS ? `The oldest of ${f.queue.pending} message(s) waiting to go out has waited ${minutes(age)}.` : null;
    },
    explain: oldestMessage,
  },
  {
    id: 'probe-slow',
    state: 'degraded',
    test: (f) =>
      f.lastProbe?.status === 'delivered' && f.lastProbe.totalMs !== null && f.lastProbe.totalMs > f.probeSlowMs
        ? `The last round trip took ${seconds(f.lastProbe.totalMs)}, slower than its threshold of ${seconds(f.probeSlowMs)}.`
        : null,
    explain: probe,
  },
  {
    id: 'test-failed',
    state: 'degraded',
    test: (f) => (f.lastConnectionTest && !f.lastConnectionTest.ok ? `The newest connection test failed${f.lastConnectionTest.code ? ` (${f.lastConnectionTest.code})` : ''}${f.lastConnectionTest.summary ? `: ${f.lastConnectionTest.summary}` : ''}` : null),
    explain: (f) => (f.lastConnectionTest ? { kind: 'connection-test', id: f.lastConnectionTest.id } : mailbox(f)),
  },
  {
    id: 'secret-expiring',
    state: 'degraded',
    test: (f) => {
      const expiry = secretExpiry(f);
      if (expiry?.state !== 'soon') return null;
      const when = expiry.daysLeft === 0 ? 'today' : expiry.daysLeft === 1 ? 'tomorrow' : `in ${expiry.daysLeft} days`;
      return `The app-only ${credentialWord(expiry)} expires ${when} (${day(expiry.expiresAt)}); renew it before then (warned from ${SECRET_EXPIRY_WARNING_DAYS} days ahead).`;
    },
    explain: signInOf,
  },
];

/** The state a set of facts leads to. */
export interface HealthVerdict {
  state: HealthState;
  reason: string;
  reasons: { rule: string; state: HealthState; text: string }[];
  explain: HealthExplain;
}

/** Applies the rule table to one mailbox's facts. */
export function evaluateHealth(facts: HealthFacts, rules: readonly HealthRule[] = HEALTH_RULES): HealthVerdict {
  const matched: { rule: HealthRule; text: string }[] = [];
  for (const rule of rules) {
    const text = rule.test(facts);
    if (text === null) continue;
    // A switched-off mailbox is only that: what else is wrong with it waits until it is on again.
    if (rule.state === 'disabled') return { state: 'disabled', reason: text, reasons: [{ rule: rule.id, state: 'disabled', text }], explain: rule.explain(facts) };
    matched.push({ rule, text });
  }
  // Worst first; the table's order breaks ties (sort is stable).
  matched.sort((a, b) => HEALTH_SEVERITY[b.rule.state] - HEALTH_SEVERITY[a.rule.state]);
  const first = matched[0];
  if (!first) {
    return { state: 'healthy', reason: facts.lastProbe?.status === 'delivered' ? 'Mail flows: the last round trip arrived, nothing is stuck.' : 'Mail flows: receiving works and nothing is stuck.', reasons: [], explain: mailbox(facts) };
  }
  return {
    state: first.rule.state,
    reason: first.text,
    reasons: matched.map((m) => ({ rule: m.rule.id, state: m.rule.state, text: m.text })),
    explain: first.rule.explain(facts),
  };
}
