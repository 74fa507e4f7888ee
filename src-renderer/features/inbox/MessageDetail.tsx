/**
 * The detail panel of one imported message: headers, a plain-text preview,
 * the HTML part as source text (never rendered), attachments listed, where
 * it came from and what was done on the server; and the raw message.
 */
import {
  Body1,
  Button,
  Caption1,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Spinner,
  Subtitle2,
  Tab,
  TabList,
  makeStyles,
  tokens,
  MessageBar,
  MessageBarBody,
} from '@fluentui/react-components';
import { ArrowDownloadRegular, AttachRegular, DocumentTextRegular, DismissRegular } from '@fluentui/react-icons';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { serverPlaceWords, type InboxMessageDetail } from '../../../src-main/shared/inbox.js';
import { api } from '../../api/client';
import { CopyButton } from '../../components/CopyButton';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge } from '../../components/StatusBadge';
import { formatTime, timeTitle } from '../../components/format';
import { ACTION_LOOK, STATUS_LOOK, describeAction, formatSize } from './inbox-format';

const useStyles = makeStyles({
  panel: { borderLeft: `1px solid ${tokens.colorNeutralStroke2}`, backgroundColor: tokens.colorNeutralBackground1, padding: '14px 16px', display: 'flex', flexDirection: 'column', gap: '10px', overflow: 'auto', minWidth: 0 },
  top: { display: 'flex', alignItems: 'flex-start', gap: '8px' },
  title: { flex: 1, wordBreak: 'break-word' },
  badges: { display: 'flex', gap: '6px', flexWrap: 'wrap' },
  dl: { display: 'grid', gridTemplateColumns: '96px 1fr', gap: '3px 8px', margin: 0 },
  dt: { color: tokens.colorNeutralForeground3 },
  dd: { margin: 0, wordBreak: 'break-word', minWidth: 0 },
  mono: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200 },
  pre: {
    margin: 0,
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-word',
    fontFamily: tokens.fontFamilyMonospace,
    fontSize: tokens.fontSizeBase200,
    backgroundColor: tokens.colorNeutralBackground3,
    border: `1px solid ${tokens.colorNeutralStroke2}`,
    borderRadius: tokens.borderRadiusMedium,
    padding: '8px 10px',
    maxHeight: '340px',
    overflow: 'auto',
  },
  headers: { display: 'grid', gridTemplateColumns: 'minmax(90px, max-content) 1fr', gap: '2px 10px', fontSize: tokens.fontSizeBase200, maxHeight: '340px', overflow: 'auto' },
  headerName: { color: tokens.colorNeutralForeground3, fontFamily: tokens.fontFamilyMonospace },
  headerValue: { wordBreak: 'break-all', fontFamily: tokens.fontFamilyMonospace },
  attachments: { listStyle: 'none', margin: 0, padding: 0, display: 'flex', flexDirection: 'column', gap: '4px' },
  attachment: { display: 'flex', alignItems: 'center', gap: '6px' },
  muted: { color: tokens.colorNeutralForeground3 },
  actions: { display: 'flex', gap: '8px', flexWrap: 'wrap' },
  raw: { margin: 0, whiteSpace: 'pre-wrap', wordBreak: 'break-all', fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, maxHeight: '60vh', overflow: 'auto', backgroundColor: tokens.colorNeutralBackground3, padding: '8px' },
});

function when(ms: number | null) {
  return ms === null ? <span>—</span> : <span title={timeTitle(ms)}>{formatTime(ms)}</span>;
}

/** Downloads a file made in the page (the exact bytes of a raw message). */
function downloadBytes(fileName: string, base64: string) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: 'message/rfc822' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function RawDialog({ id, onClose }: { id: number; onClose(): void }) {
  const s = useStyles();
  const raw = useQuery({ queryKey: ['inbox.raw', id], queryFn: () => api.inbox.raw({ id, encoding: 'text' }) });
  const [error, setError] = useState<unknown>();
  const download = async () => {
    try {
      const exact = await api.inbox.raw({ id, encoding: 'base64' });
      downloadBytes(exact.fileName, exact.content);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Dialog open onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface style={{ maxWidth: '960px', width: '90vw' }}>
        <DialogBody>
          <DialogTitle>Raw message #{id}</DialogTitle>
          <DialogContent>
            <ErrorBar error={error ?? raw.error} />
            {raw.isLoading && <Spinner label="Loading the raw message…" />}
            {raw.data && (
              <>
                <Caption1 className={s.muted}>
                  {formatSize(raw.data.size)} exactly as the server sent it{raw.data.truncated ? '; the first 2 MB are shown, the download has everything' : ''}. Shown as text only.
                </Caption1>
                <pre className={s.raw} aria-label="Raw message">{raw.data.content}</pre>
              </>
            )}
          </DialogContent>
          <DialogActions>
            {raw.data && <CopyButton text={raw.data.content} label="Copy the raw message" size="medium">Copy</CopyButton>}
            <Button icon={<ArrowDownloadRegular />} onClick={() => void download()}>
              Download .eml
            </Button>
            <Button appearance="primary" onClick={onClose}>
              Close
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

export function MessageDetail({ id, onClose }: { id: number; onClose(): void }) {
  const s = useStyles();
  const detail = useQuery({ queryKey: ['inbox.get', id], queryFn: () => api.inbox.get({ id }) });
  const [tab, setTab] = useState<'text' | 'headers' | 'html'>('text');
  const [rawOpen, setRawOpen] = useState(false);
  const d: InboxMessageDetail | undefined = detail.data;
  return (
    <aside className={s.panel} aria-label={`Imported message ${id}`}>
      <div className={s.top}>
        <Subtitle2 className={s.title}>{d ? d.subject ?? '(no subject)' : `Message #${id}`}</Subtitle2>
        <Button appearance="subtle" size="small" icon={<DismissRegular />} aria-label="Close the message" onClick={onClose} />
      </div>
      <ErrorBar error={detail.error} />
      {detail.isLoading && <Spinner size="small" label="Loading…" />}
      {d && (
        <>
          <div className={s.badges}>
            <StatusBadge kind={STATUS_LOOK[d.status].kind} label={STATUS_LOOK[d.status].word} title={STATUS_LOOK[d.status].title} />
            <StatusBadge kind={ACTION_LOOK[d.actionState].kind} label={`${describeAction(d.action)}: ${ACTION_LOOK[d.actionState].word}`} {...(d.actionError ? { title: d.actionError } : {})} />
            {d.handoffState !== 'none' && (
              <StatusBadge kind={d.handoffState === 'written' ? 'success' : d.handoffState === 'failed' ? 'warning' : 'progress'} label={`Handoff: ${d.handoffState}`} {...(d.handoffError ? { title: d.handoffError } : {})} />
            )}
          </div>
          {d.status === 'failed' && (
            <MessageBar intent="error" layout="multiline">
              <MessageBarBody>
                <strong>{d.errorCode}</strong>: {d.error} The raw message is kept; it is not tried again.
              </MessageBarBody>
            </MessageBar>
          )}
          {d.duplicateOf !== null && (
            <MessageBar intent="info" layout="multiline" data-duplicate-of={d.duplicateOf}>
              <MessageBarBody>
                The same message as <a href={`#/inbox/${d.duplicateOf}`}>message #{d.duplicateOf}</a> (same Message-ID and content; only the trace headers servers add on
                delivery may differ). {d.rawKept ? 'This copy\'s own bytes are kept; it is not imported or handed off again.' : ''}
              </MessageBarBody>
            </MessageBar>
          )}
          {d.sameMessageIdAs.length > 0 && (
            <MessageBar intent="warning" layout="multiline" data-same-message-id={d.sameMessageIdAs.join(' ')}>
              <MessageBarBody>
                Shares its Message-ID with{' '}
                {d.sameMessageIdAs.map((other, i) => (
                  <span key={other}>
                    {i > 0 ? ', ' : ''}
                    <a href={`#/inbox/${other}`}>message #{other}</a>
                  </span>
                ))}
                : {d.sameMessageIdAs.length === 1 ? 'a different message' : 'different messages'} (other content), so both are kept. The sender reused the Message-ID.
              </MessageBarBody>
            </MessageBar>
          )}
          {!d.rawKept && (
            <MessageBar intent="info" layout="multiline">
              <MessageBarBody>Its own bytes were not kept: an earlier Mailroom recorded it as a duplicate and kept only the first copy.</MessageBarBody>
            </MessageBar>
          )}
          {d.warnings.length > 0 && (
            <MessageBar intent="warning" layout="multiline">
              <MessageBarBody>{d.warnings.join(' ')}</MessageBarBody>
            </MessageBar>
          )}
          <dl className={s.dl}>
            <dt className={s.dt}>From</dt>
            <dd className={s.dd}>{d.from ?? '—'}</dd>
            <dt className={s.dt}>To</dt>
            <dd className={s.dd}>{d.to ?? '—'}</dd>
            {d.cc && (
              <>
                <dt className={s.dt}>Cc</dt>
                <dd className={s.dd}>{d.cc}</dd>
              </>
            )}
            <dt className={s.dt}>Sent</dt>
            <dd className={s.dd}>{when(d.sentAt)}</dd>
            <dt className={s.dt}>Received</dt>
            <dd className={s.dd}>{when(d.receivedAt)}</dd>
            <dt className={s.dt}>Imported</dt>
            <dd className={s.dd}>{when(d.importedAt)}</dd>
            <dt className={s.dt}>Size</dt>
            <dd className={s.dd}>{formatSize(d.size)}</dd>
            <dt className={s.dt}>Message-ID</dt>
            <dd className={s.dd}>
              {d.messageId ? (
                <>
                  <span className={s.mono}>{d.messageId}</span> <CopyButton text={d.messageId} label="Copy the Message-ID" />
                </>
              ) : (
                '—'
              )}
            </dd>
            <dt className={s.dt}>{serverPlaceWords(d).label}</dt>
            <dd className={s.dd}>{serverPlaceWords(d).text}</dd>
            {d.handoffPath && (
              <>
                <dt className={s.dt}>Handoff file</dt>
                <dd className={s.dd}>
                  <span className={s.mono}>{d.handoffPath}</span>
                </dd>
              </>
            )}
          </dl>
          {d.attachments.length > 0 && (
            <section aria-label="Attachments">
              <Body1>
                <strong>Attachments</strong>
              </Body1>
              <ul className={s.attachments}>
                {d.attachments.map((a, i) => (
                  <li key={i} className={s.attachment}>
                    <AttachRegular aria-hidden />
                    <span>{a.filename}</span>
                    <Caption1 className={s.muted}>
                      {a.contentType} · {formatSize(a.size)}
                      {a.disposition === 'inline' ? ' · inline' : ''}
                    </Caption1>
                  </li>
                ))}
              </ul>
            </section>
          )}
          <div className={s.actions}>
            <Button icon={<DocumentTextRegular />} onClick={() => setRawOpen(true)} disabled={!d.rawKept}>
              Open raw message
            </Button>
          </div>
          <TabList selectedValue={tab} onTabSelect={(_e, t) => setTab(t.value as typeof tab)} size="small" aria-label="Message content">
            <Tab value="text">Text</Tab>
            <Tab value="headers">Headers ({d.headers.length})</Tab>
            <Tab value="html" disabled={!d.htmlSource}>
              HTML source
            </Tab>
          </TabList>
          {tab === 'text' && <pre className={s.pre} aria-label="Message text">{d.text || '(no text)'}</pre>}
          {tab === 'headers' && (
            <div className={s.headers} role="table" aria-label="Message headers">
              {d.headers.map((h, i) => (
                <div key={i} role="row" style={{ display: 'contents' }}>
                  <span role="cell" className={s.headerName}>
                    {h.name}
                  </span>
                  <span role="cell" className={s.headerValue}>
                    {h.value}
                  </span>
                </div>
              ))}
            </div>
          )}
          {tab === 'html' && d.htmlSource !== null && (
            <>
              <Caption1 className={s.muted}>The HTML part as source text. It is never shown as a web page here: no scripts, images or links run.</Caption1>
              <pre className={s.pre} aria-label="HTML source">{d.htmlSource}</pre>
            </>
          )}
          {d.truncated && <Caption1 className={s.muted}>Long content was cut here; the raw message has all of it.</Caption1>}
        </>
      )}
      {rawOpen && <RawDialog id={id} onClose={() => setRawOpen(false)} />}
    </aside>
  );
}
