/**
 * The first enable of a mailbox (issue 13, item 13): before the import
 * starts, say how many messages the folder holds and what the after-import
 * action will do to them, and offer "only mail that arrives from now on".
 * The mailbox was saved disabled; it is enabled only from here.
 */
import {
  Button,
  Body1,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Radio,
  RadioGroup,
  Spinner,
  makeStyles,
} from '@fluentui/react-components';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { Mailbox } from '../../../src-main/shared/mailbox.js';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';

const useStyles = makeStyles({
  content: { display: 'flex', flexDirection: 'column', gap: '12px' },
});

type Choice = 'from-now' | 'all';

const plural = (n: number, word: string) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;

export interface FirstEnableDialogProps {
  mailbox: Mailbox;
  /** Closes the dialog; `notice` says what was done. */
  onDone(notice: string): void;
}

export function FirstEnableDialog({ mailbox, onDone }: FirstEnableDialogProps) {
  const s = useStyles();
  // A POP3 mailbox has one maildrop, on its POP3 server.
  const pop3 = mailbox.receiveVia === 'pop3' && mailbox.pop3 ? mailbox.pop3 : null;
  const folder = pop3 ? 'the POP3 maildrop' : mailbox.imap.folder;
  const Folder = pop3 ? 'The POP3 maildrop' : folder;
  const host = pop3 ? pop3.host : mailbox.imap.host;
  const look = useQuery({ queryKey: ['inbox.firstImport', mailbox.id], queryFn: () => api.inbox.firstImport({ mailboxId: mailbox.id }), retry: false, gcTime: 0 });
  const [choice, setChoice] = useState<Choice>('from-now');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const messages = look.data?.messages ?? 0;

  const enable = async (how: Choice) => {
    setBusy(true);
    setError(undefined);
    try {
      let notice = `Enabled mailbox ${mailbox.name}.`;
      if (how === 'from-now' && look.data) {
        const started = await api.inbox.startFromNow({ mailboxId: mailbox.id });
        notice = `Enabled mailbox ${mailbox.name}: only mail that arrives from now on is imported; the ${plural(started.leftAlone, 'message')} already in ${folder} stay as they are.`;
      } else if (messages > 0 || look.isError) {
        notice = `Enabled mailbox ${mailbox.name}: the mail already in ${folder} is being imported.`;
      }
      await api.mailboxes.update({ id: mailbox.id, enabled: true });
      onDone(notice);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open modalType="alert">
      <DialogSurface aria-describedby={undefined}>
        <DialogBody>
          <DialogTitle>Enable {mailbox.name}: the mail already in {folder}</DialogTitle>
          <DialogContent className={s.content}>
            <Body1>{mailbox.name} is saved, still disabled. Once enabled, Mailroom imports mail from {folder} and runs the after-import action on each message it imports.</Body1>
            {look.isPending && <Spinner size="small" label={`Looking into ${folder} on ${host}…`} />}
            {look.data && messages === 0 && <Body1 data-first-import="empty">{Folder} is empty: the import starts with the next message that arrives.</Body1>}
            {look.data && messages > 0 && (
              <>
                <Body1 data-first-import="count">
                  <strong>
                    {Folder} holds {plural(messages, 'message')}
                    {look.data.unseen ? ` (${look.data.unseen.toLocaleString()} unread)` : ''}.
                  </strong>{' '}
                  Imported messages are {look.data.afterImportWords}.
                </Body1>
                <RadioGroup value={choice} onChange={(_e, d) => setChoice(d.value as Choice)} aria-label={`What to do with the ${plural(messages, 'message')} in ${folder}`}>
                  <Radio value="from-now" label={`Only mail that arrives from now on: the ${plural(messages, 'message')} stay on the server as they are`} />
                  <Radio value="all" label={`Import the ${plural(messages, 'message')} now: each is stored here, then ${look.data.afterImportWords}`} />
                </RadioGroup>
              </>
            )}
            {look.isError && (
              <>
                <Body1>Mailroom could not look into {folder}, so it cannot start after the mail already there. Test the connection, then enable the mailbox again.</Body1>
                <ErrorBar error={look.error} />
              </>
            )}
            <ErrorBar error={error} />
          </DialogContent>
          <DialogActions>
            <Button appearance="secondary" disabled={busy} onClick={() => onDone(`Saved mailbox ${mailbox.name}, disabled: nothing is imported until it is enabled.`)}>
              Keep disabled
            </Button>
            {look.isError && (
              <Button appearance="secondary" disabled={busy} onClick={() => void enable('all')}>
                Enable and import everything
              </Button>
            )}
            {look.data && (
              <Button appearance="primary" disabled={busy} onClick={() => void enable(messages > 0 ? choice : 'all')}>
                {busy ? 'Enabling…' : 'Enable'}
              </Button>
            )}
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
