/** Compose a test message: queued like any other, sent by the mailbox's sender. */
import { Button, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle, Field, Input, Select, Textarea } from '@fluentui/react-components';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { OutboxSummary } from '../../../src-main/shared/outbox.js';
import { api, ApiError } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';

const ADDRESS = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

export function ComposeDialog({ onClose, onQueued }: { onClose(): void; onQueued(m: OutboxSummary): void }) {
  const mailboxes = useQuery({ queryKey: ['mailboxes'], queryFn: () => api.mailboxes.list({}) });
  const [mailboxId, setMailboxId] = useState<string>('');
  const [to, setTo] = useState('');
  const [subject, setSubject] = useState('Mailroom test message');
  const [text, setText] = useState(`This is a test message sent by Mailroom at ${new Date().toLocaleString()}.\n\nIf it arrives, outgoing mail from this mailbox works.`);
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  // The first enabled mailbox by default: a disabled one does not send.
  const chosen = mailboxId || String((mailboxes.data?.find((m) => m.enabled) ?? mailboxes.data?.[0])?.id ?? '');
  const chosenMailbox = mailboxes.data?.find((m) => String(m.id) === chosen);
  const recipients = to.split(/[,;\s]+/).map((a) => a.trim()).filter(Boolean);
  const badAddress = recipients.find((a) => !ADDRESS.test(a));
  const toProblem = !recipients.length ? 'Enter at least one recipient, such as you@example.com.' : badAddress ? `"${badAddress}" is not an email address.` : undefined;
  const serverIssue = (field: string) => (error instanceof ApiError ? error.issues?.find((i) => i.path === field || i.path.startsWith(`${field}.`))?.message : undefined);

  async function queue() {
    setTouched(true);
    if (toProblem || !chosen) return;
    setBusy(true);
    setError(undefined);
    try {
      const result = await api.outbox.compose({ mailboxId: Number(chosen), to: recipients, subject, text });
      onQueued(result.messages[0]!);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog open onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>Compose test message</DialogTitle>
          <DialogContent style={{ display: 'flex', flexDirection: 'column', gap: 12 }}>
            <Field
              label="Send from"
              hint="The mailbox whose outgoing server and sign-in are used."
              validationState={chosenMailbox && !chosenMailbox.enabled ? 'warning' : 'none'}
              validationMessage={chosenMailbox && !chosenMailbox.enabled ? 'This mailbox is disabled: the message waits until it is enabled (Mailboxes > Edit).' : undefined}
            >
              <Select name="mailbox" value={chosen} onChange={(_e, d) => setMailboxId(d.value)}>
                {mailboxes.data?.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name} ({m.address}){m.enabled ? '' : ' · disabled'}
                  </option>
                ))}
              </Select>
            </Field>
            <Field label="To" required validationMessage={touched ? (toProblem ?? serverIssue('to')) : serverIssue('to')} hint="Several addresses separated by commas.">
              <Input name="to" value={to} onChange={(_e, d) => setTo(d.value)} placeholder="you@example.com" />
            </Field>
            <Field label="Subject" validationMessage={serverIssue('subject')}>
              <Input name="subject" value={subject} onChange={(_e, d) => setSubject(d.value)} />
            </Field>
            <Field label="Text" validationMessage={serverIssue('text')}>
              <Textarea name="text" value={text} resize="vertical" rows={5} onChange={(_e, d) => setText(d.value)} />
            </Field>
            <ErrorBar error={error instanceof ApiError && error.issues?.length ? undefined : error} />
          </DialogContent>
          <DialogActions>
            <Button onClick={onClose}>Cancel</Button>
            <Button appearance="primary" disabled={busy || !chosen} onClick={() => void queue()}>
              Queue message
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
