/**
 * The detail panel of one outbox message, as the help-desk system's sending
 * log shows it but complete: status and actions, the last error with its
 * full description and what to change, recipients, the status history, every
 * try, and the redacted SMTP transcript of the last try.
 */
import {
  Badge,
  Body1,
  Button,
  Caption1,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  MessageBar,
  MessageBarBody,
  Subtitle2,
  Text,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { ArrowClockwiseRegular, DeleteRegular, DismissRegular, LightbulbRegular, SendRegular, StopRegular } from '@fluentui/react-icons';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { OutboxDetail, OutboxSummary, RecipientStatus } from '../../../src-main/shared/outbox.js';
import { api } from '../../api/client';
import { CopyButton } from '../../components/CopyButton';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge, type StatusKind } from '../../components/StatusBadge';
import { formatTime, timeTitle } from '../../components/format';
import { TranscriptPanel } from '../connection-test/TranscriptPanel';
import { STATUS_HELP, STATUS_KIND, STATUS_WORD, errorTitle, partlyRefused, relative, size } from './outbox-format';
import { stageLabel } from '../../../src-main/shared/step-words.js';

import { ChangeButton } from '../../components/read-only';
const useStyles = makeStyles({
  // A scrolling column: its parts keep their height (a message bar would otherwise be squeezed until its text overlaps the next).
  panel: { borderLeft: `1px solid ${tokens.colorNeutralStroke2}`, backgroundColor: tokens.colorNeutralBackground1, padding: '16px', display: 'flex', flexDirection: 'column', gap: '12px', overflow: 'auto', minWidth: 0, '& > *': { flexShrink: 0 } },
  head: { display: 'flex', alignItems: 'flex-start', gap: '8px' },
  title: { flex: 1, wordBreak: 'break-word' },
  actions: { display: 'flex', gap: '6px', flexWrap: 'wrap' },
  dl: { display: 'grid', gridTemplateColumns: '96px 1fr', gap: '4px 8px', margin: 0 },
  dt: { color: tokens.colorNeutralForeground3 },
  dd: { margin: 0, wordBreak: 'break-word', minWidth: 0 },
  mono: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, wordBreak: 'break-all' },
  card: { borderRadius: tokens.borderRadiusMedium, padding: '10px 12px', display: 'flex', flexDirection: 'column', gap: '8px' },
  cardError: { border: `1px solid ${tokens.colorPaletteRedBorder2}`, borderLeft: `4px solid ${tokens.colorPaletteRedBorderActive}`, backgroundColor: tokens.colorPaletteRedBackground1 },
  cardWarning: { border: `1px solid ${tokens.colorPaletteMarigoldBorder2}`, borderLeft: `4px solid ${tokens.colorPaletteMarigoldBorderActive}`, backgroundColor: tokens.colorPaletteMarigoldBackground1 },
  cardHead: { display: 'flex', alignItems: 'center', gap: '6px', flexWrap: 'wrap' },
  cardTitle: { fontWeight: tokens.fontWeightSemibold },
  hint: { display: 'flex', gap: '8px', alignItems: 'flex-start', backgroundColor: tokens.colorNeutralBackground1, borderRadius: tokens.borderRadiusMedium, padding: '8px 10px' },
  hintIcon: { color: tokens.colorPaletteYellowForeground2, fontSize: '20px', flexShrink: 0 },
  reply: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, whiteSpace: 'pre-wrap', wordBreak: 'break-word', backgroundColor: tokens.colorNeutralBackground1, padding: '6px 8px', borderRadius: tokens.borderRadiusSmall, margin: 0 },
  list: { margin: 0, padding: 0, listStyle: 'none', display: 'flex', flexDirection: 'column', gap: '4px' },
  item: { display: 'grid', gridTemplateColumns: 'auto 1fr', gap: '2px 8px', alignItems: 'center' },
  small: { color: tokens.colorNeutralForeground3, fontSize: tokens.fontSizeBase200 },
  history: { width: '100%', borderCollapse: 'collapse', fontSize: tokens.fontSizeBase200, '& td': { padding: '3px 6px 3px 0', verticalAlign: 'top', borderBottom: `1px solid ${tokens.colorNeutralStroke3}` } },
  headers: { margin: 0, maxHeight: '220px', overflow: 'auto', whiteSpace: 'pre-wrap', wordBreak: 'break-all', fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, backgroundColor: tokens.colorNeutralBackground3, padding: '8px', borderRadius: tokens.borderRadiusMedium },
  muted: { color: tokens.colorNeutralForeground3 },
});

const RECIPIENT_KIND: Record<RecipientStatus, StatusKind> = { pending: 'info', accepted: 'success', deferred: 'warning', rejected: 'error' };
const RECIPIENT_WORD: Record<RecipientStatus, string> = { pending: 'Waiting', accepted: 'Accepted', deferred: 'Deferred', rejected: 'Refused' };
const SOURCE_WORD = { compose: 'the compose form', cli: 'the command line', eml: 'an .eml file', relay: 'the local relay' } as const;

/** The last error: what went wrong, what to change, what the server said. */
function ErrorCard({ m }: { m: OutboxDetail }) {
  const s = useStyles();
  const e = m.lastError!;
  const severe = m.status === 'failed';
  return (
    <section className={`${s.card} ${severe ? s.cardError : s.cardWarning}`} aria-label="Last error" data-error-code={e.code}>
      <div className={s.cardHead}>
        <Text className={s.cardTitle}>{errorTitle(e.code)}</Text>
        <Badge appearance="outline" color={severe ? 'danger' : 'warning'} shape="rounded">
          {e.code}
        </Badge>
        <CopyButton text={e.code} label="Copy the code" />
        <Caption1 className={s.muted} title={timeTitle(e.at)}>
          {e.stage ? `at step: ${stageLabel(e.stage)}, ` : ''}
          {formatTime(e.at)}
        </Caption1>
      </div>
      <Body1>{e.message}</Body1>
      {e.hint && (
        <div className={s.hint}>
          <LightbulbRegular className={s.hintIcon} aria-hidden />
          <Body1>
            <strong>What to change: </strong>
            {e.hint}
          </Body1>
        </div>
      )}
      {e.serverReply && (
        <div>
          <Caption1 className={s.muted}>The server replied:</Caption1>
          <pre className={s.reply}>{e.serverReply}</pre>
        </div>
      )}
      <CopyButton text={[`${e.code}: ${e.message}`, e.hint ? `What to change: ${e.hint}` : '', e.serverReply ? `Server (${e.stage ? stageLabel(e.stage) : 'reply'}): ${e.serverReply}` : '', `Message-ID <${m.messageId}>`].filter(Boolean).join('\n')} label="Copy the error">
        Copy the error
      </CopyButton>
    </section>
  );
}

export function OutboxDetailPanel({ id, onClose, onDelete, onNotice }: { id: number; onClose(): void; onDelete(m: OutboxSummary): void; onNotice(text: string): void }) {
  const s = useStyles();
  const detail = useQuery({ queryKey: ['outbox', 'get', id], queryFn: () => api.outbox.get({ id }), retry: false });
  const mailboxes = useQuery({ queryKey: ['mailboxes'], queryFn: () => api.mailboxes.list({}) });
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const m = detail.data;

  async function act(name: string, run: () => Promise<OutboxSummary | unknown>, done: string) {
    setBusy(name);
    setError(undefined);
    try {
      await run();
      onNotice(done);
      void detail.refetch();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  }

  if (!m) {
    return (
      <aside className={s.panel} aria-label="Outbox message">
        <div className={s.head}>
          <Subtitle2 className={s.title}>Message #{id}</Subtitle2>
          <Button appearance="subtle" icon={<DismissRegular />} aria-label="Close the detail" onClick={onClose} />
        </div>
        {detail.isLoading ? <Caption1>Loading…</Caption1> : <ErrorBar error={detail.error} />}
      </aside>
    );
  }

  const refused = partlyRefused(m);
  // Send now stays offered while the message waits for a sign-in: the engine answers why it cannot send.
  const canSendNow = m.status === 'queued' || m.status === 'deferred' || m.status === 'waiting-sign-in';
  const canRetry = m.status === 'failed' || m.status === 'deferred' || m.status === 'cancelled' || (m.status === 'sent' && m.recipients.some((r) => r.status === 'rejected'));
  const canCancel = m.status === 'queued' || m.status === 'deferred' || m.status === 'failed' || m.status === 'waiting-sign-in';
  return (
    <aside className={s.panel} aria-label="Outbox message" data-outbox-detail={m.id}>
      <div className={s.head}>
        <Subtitle2 className={s.title}>{m.subject || '(no subject)'}</Subtitle2>
        <Button appearance="subtle" icon={<DismissRegular />} aria-label="Close the detail" onClick={onClose} />
      </div>
      <div className={s.actions}>
        <StatusBadge kind={refused ? 'warning' : STATUS_KIND[m.status]} label={refused ? 'Sent, some refused' : STATUS_WORD[m.status]} title={STATUS_HELP[m.status]} />
        <Caption1 className={s.muted}>
          #{m.id} · try {m.attempts} of {m.maxAttempts}
        </Caption1>
      </div>
      <div className={s.actions} role="toolbar" aria-label="Message actions">
        <ChangeButton channel="outbox.sendNow" size="small" icon={<SendRegular />} disabled={!canSendNow || Boolean(busy)} onClick={() => void act('send', () => api.outbox.sendNow({ id }), `#${id} is due now.`)}>
          Send now
        </ChangeButton>
        <ChangeButton channel="outbox.retry" size="small" icon={<ArrowClockwiseRegular />} disabled={!canRetry || Boolean(busy)} onClick={() => void act('retry', () => api.outbox.retry({ id }), `#${id} is queued again.`)}>
          Retry
        </ChangeButton>
        <ChangeButton channel="outbox.cancel" size="small" icon={<StopRegular />} disabled={!canCancel || Boolean(busy)} onClick={() => void act('cancel', () => api.outbox.cancel({ id }), `#${id} is cancelled and will not be sent.`)}>
          Cancel
        </ChangeButton>
        <ChangeButton channel="outbox.delete" size="small" icon={<DeleteRegular />} disabled={m.status === 'sending' || Boolean(busy)} onClick={() => onDelete(m)}>
          Delete
        </ChangeButton>
      </div>
      <ErrorBar error={error} />
      {(m.status === 'queued' || m.status === 'deferred') && mailboxes.data?.find((x) => x.id === m.mailboxId)?.enabled === false && (
        <MessageBar intent="warning" layout="multiline">
          <MessageBarBody>{m.mailboxName} is disabled: this message waits until the mailbox is enabled (Mailboxes &gt; Edit).</MessageBarBody>
        </MessageBar>
      )}

      {m.status === 'waiting-sign-in' && (
        <MessageBar intent="warning" layout="multiline" data-testid="outbox-waiting-sign-in">
          <MessageBarBody>
            Waiting for {m.mailboxName}’s Microsoft sign-in: no tries are spent until then ({m.attempts} of {m.maxAttempts} used). Sign in again on the Mailboxes screen, or run mailroom oauth login "{m.mailboxName}"; it is sent at once after the sign-in.
          </MessageBarBody>
        </MessageBar>
      )}
      {m.lastError && <ErrorCard m={m} />}

      <dl className={s.dl}>
        <dt className={s.dt}>Mailbox</dt>
        <dd className={s.dd}>{m.mailboxName}</dd>
        <dt className={s.dt}>From</dt>
        <dd className={s.dd}>{m.from}</dd>
        <dt className={s.dt}>Queued</dt>
        <dd className={s.dd} title={timeTitle(m.createdAt)}>
          {formatTime(m.createdAt)} from {SOURCE_WORD[m.source]}
          {m.submittedBy ? ` (${m.submittedBy})` : ''}
        </dd>
        {m.nextAttemptAt !== null && (m.status === 'queued' || m.status === 'deferred') && (
          <>
            <dt className={s.dt}>Next try</dt>
            <dd className={s.dd} title={timeTitle(m.nextAttemptAt)}>
              {formatTime(m.nextAttemptAt)} ({relative(m.nextAttemptAt)})
            </dd>
          </>
        )}
        {m.sentAt !== null && (
          <>
            <dt className={s.dt}>Sent</dt>
            <dd className={s.dd} title={timeTitle(m.sentAt)}>
              {formatTime(m.sentAt)}
            </dd>
          </>
        )}
        {m.acceptedReply && (
          <>
            <dt className={s.dt}>Server said</dt>
            <dd className={`${s.dd} ${s.mono}`}>
              {m.acceptedReply}
              {m.serverQueueId && (
                <>
                  {' '}
                  <Badge appearance="tint" shape="rounded" size="small">
                    queue id {m.serverQueueId}
                  </Badge>
                  <CopyButton text={m.serverQueueId} label="Copy the queue id" />
                </>
              )}
            </dd>
          </>
        )}
        <dt className={s.dt}>Message-ID</dt>
        <dd className={`${s.dd} ${s.mono}`}>
          &lt;{m.messageId}&gt; <CopyButton text={`<${m.messageId}>`} label="Copy the Message-ID" />
        </dd>
        <dt className={s.dt}>Size</dt>
        <dd className={s.dd}>{size(m.size)}</dd>
      </dl>

      <section aria-label="Recipients">
        <Subtitle2>Recipients ({m.recipients.length})</Subtitle2>
        <ul className={s.list}>
          {m.recipients.map((r) => (
            <li key={r.address} className={s.item}>
              <StatusBadge kind={RECIPIENT_KIND[r.status]} label={RECIPIENT_WORD[r.status]} />
              <span>{r.address}</span>
              {r.reply && <span className={`${s.small} ${s.mono}`} style={{ gridColumn: '2' }}>{r.reply}</span>}
            </li>
          ))}
        </ul>
      </section>

      <section aria-label="Status history">
        <Subtitle2>Status history</Subtitle2>
        <table className={s.history}>
          <tbody>
            {m.history.map((h, i) => (
              <tr key={i}>
                <td title={timeTitle(h.at)}>{formatTime(h.at)}</td>
                <td>{STATUS_WORD[h.status as keyof typeof STATUS_WORD] ?? h.status}</td>
                <td>{h.note}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      {m.attemptLog.length > 0 && (
        <section aria-label="Tries">
          <Subtitle2>Tries ({m.attemptLog.length})</Subtitle2>
          <table className={s.history}>
            <tbody>
              {m.attemptLog.map((a) => (
                <tr key={a.number}>
                  <td>#{a.number}</td>
                  <td title={timeTitle(a.startedAt)}>{formatTime(a.startedAt)}</td>
                  <td>{a.outcome}</td>
                  <td title={a.stage ? `At step: ${stageLabel(a.stage)}` : undefined}>{a.code ?? ''}</td>
                  <td className={s.mono}>{a.serverReply ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}

      {m.transcript ? (
        <TranscriptPanel title="SMTP transcript of the last try" lines={m.transcript} />
      ) : (
        <Caption1 className={s.muted}>
          No transcript kept.{' '}
          <ChangeButton channel="outbox.saveSettings"
            size="small"
            appearance="transparent"
            onClick={() => void act('debug', () => api.outbox.saveSettings({ mailboxId: m.mailboxId, debug: true }), `${m.mailboxName} now keeps the SMTP transcript of each message's next try.`)}
          >
            Keep transcripts for {m.mailboxName}
          </ChangeButton>
        </Caption1>
      )}

      <details>
        <summary>
          <Caption1>Header lines</Caption1>
        </summary>
        <pre className={s.headers}>{m.headers}</pre>
      </details>
    </aside>
  );
}

/** Asks before deleting, and says what will be lost. */
export function DeleteDialog({ message, onClose, onDeleted }: { message: OutboxSummary; onClose(): void; onDeleted(): void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const pending = message.status !== 'sent' && message.status !== 'cancelled';
  return (
    <Dialog open onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>Delete message #{message.id}?</DialogTitle>
          <DialogContent style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
            <Body1>
              &quot;{message.subject || '(no subject)'}&quot; to {message.to}
            </Body1>
            <Body1>
              {pending ? 'It has not been sent and will never be. ' : ''}The message, its status history, its tries and its transcript are removed for good. This cannot be undone; the activity log keeps its entries.
            </Body1>
            <ErrorBar error={error} />
          </DialogContent>
          <DialogActions>
            <Button onClick={onClose}>Keep it</Button>
            <Button
              appearance="primary"
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                try {
                  await api.outbox.delete({ id: message.id });
                  onDeleted();
                } catch (e) {
                  setError(e);
                  setBusy(false);
                }
              }}
            >
              Delete message
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
